package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/boxauthz/boxauthz/checker"
)

const checkLong = `check asks whether <user> may do <action> on the item <type>:<id>, of a
running boxauthz server (--server, with its admin key) or, with
--spicedb-endpoint, of that SpiceDB directly.

<action> is one of %s;
<type> is %s. An empty <user> ("") asks as an
anonymous caller, as with a shared link.

Asking a server started with --schema-extension, <type> may also be one of
the extension's types, with one of its permissions as <action>
(boxauthz check alice viewer hub:h1): the server validates them and its
refusal names the types and permissions there are. --spicedb-endpoint
checks folders and files only: it has no extension to validate against.

Prints allowed or denied; exit 0 allowed, 1 denied, 2 error. --explain adds
one sentence saying what allows it, or why not (and the reason code).

--bulk FILE asks many checks at once: a JSON array of checks, or one check a
line (JSONL), each as POST /v1/check/bulk takes it:
  {"id":"c1","user":"bob","action":"rename","item":{"type":"file","id":"plan"},"shared_link":"file:plan"}
(id and shared_link optional; - reads standard input). One result a line, in
order; exit 0 when all are allowed, 1 when any is denied, 2 on error.` + `

With --json: one object, {"allowed": bool, "consistency_token": string,
"explanation": {"allowed", "grants": [{"kind", "on", "collaboration", "role",
"group", "expires_at", "access"}], "reason"}} (explanation with --explain
only). With --bulk --json: one object a line, {"id", "user", "action",
"item": {"type", "id"}, "allowed", "consistency_token"}.`

const checkExample = `  boxauthz check bob rename file:plan --admin-key "$KEY"
  boxauthz check bob delete folder:projects --explain --admin-key "$KEY"
  boxauthz check "" preview file:plan --shared-link file:plan --json --admin-key "$KEY"
  boxauthz check bob download file:plan --consistency-token "$TOKEN" --admin-key "$KEY"
  boxauthz check --bulk checks.jsonl --admin-key "$KEY"
  boxauthz check bob rename file:plan --spicedb-endpoint 127.0.0.1:50051 --spicedb-insecure --spicedb-token "$TOKEN"`

func newCheckCmd(a *app) *cobra.Command {
	var (
		f               askFlags
		explain, asJSON bool
		link, bulkFile  string
	)
	cmd := &cobra.Command{
		Use:     "check <user> <action> <type>:<id>",
		Short:   "Ask whether a user may do an action on an item (exit 0 allowed, 1 denied)",
		Long:    fmt.Sprintf(checkLong, actionNames(), strings.Join(itemTypes, " or ")),
		Example: checkExample,
		Args: func(_ *cobra.Command, args []string) error {
			if bulkFile != "" {
				if len(args) != 0 {
					return usagef("--bulk takes its checks from the file: give no <user> <action> <type>:<id>")
				}
				return nil
			}
			if len(args) != 3 {
				return usagef("want <user> <action> <type>:<id>, got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if bulkFile != "" {
				if explain || link != "" {
					return usagef("--explain and --shared-link ask one check: in --bulk, give shared_link on each check")
				}
				return runBulk(cmd, &f, bulkFile, asJSON, a.stdout)
			}
			item, err := parseCheckItem(args[2])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			req := checkRequest{User: args[0], Action: args[1], Item: item, SharedLink: link}
			if err := refuseDirectExtension(&f, req); err != nil {
				return &exitError{code: 2, err: err}
			}
			ask, err := f.open(cmd.Context())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			defer ask.Close()
			res, err := ask.check(cmd.Context(), req, explain)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := printCheck(a.stdout, res, asJSON); err != nil {
				return &exitError{code: 2, err: err}
			}
			if !res.Allowed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&explain, "explain", false, "say what allows it, or why not")
	cmd.Flags().StringVar(&link, "shared-link", "", "a shared link the caller presents, as type:id or the item's Box URL")
	cmd.Flags().StringVar(&bulkFile, "bulk", "", "file of checks to ask at once (JSON array or JSONL; - for standard input)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON (fields above)")
	return cmd
}

// printCheck prints one answer: the verdict and, explained, the sentence
// saying why; or the whole answer as JSON.
func printCheck(w io.Writer, res checkResult, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	verdict := "denied"
	if res.Allowed {
		verdict = "allowed"
	}
	fmt.Fprintln(w, verdict)
	if len(res.Explanation) == 0 {
		return nil
	}
	var ex checker.Explanation
	if err := json.Unmarshal(res.Explanation, &ex); err != nil {
		return fmt.Errorf("reading the explanation: %w", err)
	}
	s := "because: " + ex.Sentence()
	if ex.Reason != "" {
		s += " (" + ex.Reason + ")"
	}
	_, err := fmt.Fprintln(w, s)
	return err
}
