package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/schema/validation"
)

func newSchemaCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema print|validate|apply",
		Short: "Print, validate against, or write the SpiceDB schema",
		Long: `schema works with boxauthz's SpiceDB schema: print it, run validation files
(zed's format) against it, or write it into an external SpiceDB.`,
		Example: "  boxauthz schema print > schema.zed\n  boxauthz schema validate my-cases.yaml\n  boxauthz schema apply --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\"",
		RunE:    groupRun,
	}
	cmd.AddCommand(newSchemaPrintCmd(a), newSchemaValidateCmd(a), newSchemaApplyCmd(a))
	return cmd
}

func newSchemaPrintCmd(a *app) *cobra.Command {
	var ext extensionFlag
	cmd := &cobra.Command{
		Use:     "print",
		Short:   "Print the SpiceDB schema boxauthz writes",
		Long:    "print writes boxauthz's SpiceDB schema (zed) to standard output; with\n--schema-extension, composed with that extension, as serve and apply write it.",
		Example: "  boxauthz schema print\n  boxauthz schema print > schema.zed\n  boxauthz schema print --schema-extension hub.zed",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			text, err := ext.schemaText()
			if err != nil {
				return err
			}
			_, err = io.WriteString(a.stdout, text)
			return err
		},
	}
	ext.register(cmd.Flags())
	return cmd
}

// validateLine is one file's result of schema validate --json.
type validateLine struct {
	File       string        `json:"file"`
	OK         bool          `json:"ok"`
	Assertions int           `json:"assertions"`
	Expected   int           `json:"expected_relations"`
	Problems   []problemJSON `json:"problems"`
}

// problemJSON is one failure of a validation file. File differs from the
// line's file for a problem in the schemaFile it names.
type problemJSON struct {
	File    string            `json:"file"`
	Line    int               `json:"line"`
	Column  int               `json:"column"`
	Kind    string            `json:"kind"`
	Message string            `json:"message"`
	Trace   *validation.Trace `json:"trace,omitempty"`
}

func newSchemaValidateCmd(a *app) *cobra.Command {
	var (
		asJSON bool
		ext    extensionFlag
	)
	cmd := &cobra.Command{
		Use:   "validate <file>...",
		Short: "Run validation files against the schema (exit 1 on a failure)",
		Long: `validate runs each validation file (zed's format: schema or schemaFile,
relationships, assertions, expected relations; without a schema it runs
against boxauthz's, composed with --schema-extension when given; a schemaFile is relative to the file's directory) on
SpiceDB's own development engine, and prints each problem as
file:line:col: kind: message, the line with a caret under the column and,
for a failed assertion, SpiceDB's trace of the check as a tree.
Exit 0 when every file passes, 1 when one fails, 2 when one cannot be read
or run (bad YAML, a relationship that does not parse, an unreadable
schemaFile).` +
			jsonHelp + `one object a file, a line each: {"file": string, "ok": bool, "assertions": number, "expected_relations": number, "problems": [{"file", "line", "column", "kind", "message", "trace"}]} (line and column 1-based, 0 when unknown; trace, for a failed assertion, is {"resource", "permission", "kind", "subject", "result", "caveat", "cached", "children": [trace...]})`,
		Example: "  boxauthz schema validate my-cases.yaml\n  boxauthz schema validate schema/testdata/*.yaml --json",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("want one or more validation files")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, files []string) error {
			base, err := ext.schemaText()
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			failed, unrunnable := 0, 0
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				res, err := validation.Validate(cmd.Context(), f, data, validation.WithDefaultSchema(base))
				var fe *validation.FileError
				switch {
				case errors.As(err, &fe):
					unrunnable++
				case err != nil:
					return fmt.Errorf("%s: %w", f, err)
				case !res.OK():
					failed++
				}
				if asJSON {
					if err := writeValidateJSON(a.stdout, f, res); err != nil {
						return err
					}
					continue
				}
				for _, p := range res.Problems {
					validation.WriteProblem(a.stdout, p)
				}
				if res.OK() {
					fmt.Fprintf(a.stdout, "%s: ok (%d assertions, %d expected relations)\n", f, res.Assertions, res.Expected)
				}
			}
			if unrunnable > 0 {
				return &exitError{code: 2, err: fmt.Errorf("%d of %d files cannot be run", unrunnable, len(files))}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files failed", failed, len(files))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a file (fields above)")
	ext.register(cmd.Flags())
	return cmd
}

func writeValidateJSON(w io.Writer, file string, res validation.Result) error {
	line := validateLine{File: file, OK: res.OK(), Assertions: res.Assertions, Expected: res.Expected, Problems: []problemJSON{}}
	for _, p := range res.Problems {
		line.Problems = append(line.Problems, problemJSON{File: p.File, Line: p.Line, Column: p.Column, Kind: p.Kind, Message: p.Message, Trace: p.Trace})
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("writing the result of %s: %w", file, err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func newSchemaApplyCmd(a *app) *cobra.Command {
	var sf spicedbFlags
	cmd := &cobra.Command{
		Use:   "apply --spicedb-endpoint HOST:PORT",
		Short: "Write the schema into an external SpiceDB",
		Long: `apply writes boxauthz's schema into the external SpiceDB --spicedb-endpoint
names; one that already holds it with additions is left as it is. serve does
the same on its first start; the embedded SpiceDB gets it on every start.
With --schema-extension it writes ours composed with that file, which then
stands for every addition: one holding anything else is rewritten.`,
		Example: "  boxauthz schema apply --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\"\n  boxauthz schema apply --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\" --schema-extension hub.zed\n  boxauthz schema apply --spicedb-endpoint 127.0.0.1:50051 --spicedb-insecure --spicedb-token \"$TOKEN\"",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sf.endpoint == "" {
				return usagef("apply writes to an external SpiceDB: give --spicedb-endpoint (the embedded one gets the schema on start)")
			}
			c, err := sf.dial()
			if err != nil {
				return sf.hint(err)
			}
			defer c.Close()
			if sf.extension.path != "" {
				return applyExtended(cmd.Context(), a.stdout, c, &sf)
			}
			st, err := upgrade.Inspect(cmd.Context(), c)
			var ie *upgrade.IncompatibleError
			if err != nil && !errors.As(err, &ie) {
				return sf.hint(err)
			}
			if st == upgrade.Compatible {
				fmt.Fprintln(a.stdout, "spicedb holds boxauthz's schema with additions; leaving it as it is")
				return nil
			}
			if _, err := schema.Write(cmd.Context(), c); err != nil {
				return sf.hint(err)
			}
			fmt.Fprintf(a.stdout, "wrote boxauthz schema %s to %s\n", schema.Digest(), sf.endpoint)
			return nil
		},
	}
	sf.register(cmd.Flags(), spicedbRequired)
	sf.extension.register(cmd.Flags())
	return cmd
}
