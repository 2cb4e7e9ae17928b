package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/boxauthz/boxauthz/internal/progress"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync/reconcile"
)

// reconcileResult is what sync reconcile --json prints.
type reconcileResult struct {
	DryRun  bool     `json:"dry_run"`
	Missing []string `json:"missing"`
	Extra   []string `json:"extra"`
	Kept    []string `json:"kept"`
}

func relStrings(rs []*v1.Relationship) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, rel.String(r))
	}
	return out
}

func newReconcileCmd(a *app) *cobra.Command {
	var (
		sf       spicedbFlags
		snapshot string
		dryRun   bool
		asJSON   bool
	)
	every := progress.DefaultInterval
	cmd := &cobra.Command{
		Use:   "reconcile --snapshot FILE [--dry-run]",
		Short: "Repair drift between SpiceDB and a snapshot of every object",
		Long: `reconcile compares the relationships in the external SpiceDB with those a
snapshot of every current object implies (JSONL, as *.created events), and
writes the difference: missing relationships added, extra ones removed.
Restrictions the snapshot does not address are kept. --dry-run prints the
difference (+ missing, - extra, = kept) instead of writing it.` +
			jsonHelp + `one object, {"dry_run": bool, "missing": [relationship], "extra": [relationship], "kept": [relationship]}, each relationship as resource#relation@subject.`,
		Example: `  boxauthz sync reconcile --snapshot objects.jsonl --dry-run --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN"
  boxauthz sync reconcile --snapshot objects.jsonl --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN"
  boxauthz sync reconcile --snapshot objects.jsonl --dry-run --json --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if snapshot == "" {
				return usagef("needs --snapshot FILE")
			}
			if sf.endpoint == "" {
				return usagef("needs --spicedb-endpoint: reconcile repairs a SpiceDB that outlives it")
			}
			ctx := cmd.Context()
			f, err := os.Open(snapshot)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return fmt.Errorf("reading the snapshot: %w", err)
			}
			st, err := openStack(ctx, &sf, a.logger)
			if err != nil {
				return err
			}
			defer st.Close()
			snap := newSnapshotProgress(ctx, f, fi.Size(), a.logger, every)
			target := newWriteProgress(ctx, st.client, a.logger, every)
			d, err := reconcile.Reconcile(ctx, target, snap, dryRun, a.logger)
			if err != nil {
				return st.hint(err)
			}
			target.done(ctx)
			return printReconcile(a.stdout, d, dryRun, asJSON)
		},
	}
	fs := cmd.Flags()
	sf.register(fs, spicedbRequired)
	fs.StringVar(&snapshot, "snapshot", "", "JSONL of every current object, as *.created events")
	fs.BoolVar(&dryRun, "dry-run", false, "print the difference instead of writing it")
	fs.DurationVar(&every, "progress-interval", progress.DefaultInterval, "least time between two progress lines in the log")
	fs.BoolVar(&asJSON, "json", false, "print the result as one JSON object (fields above)")
	return cmd
}

// printReconcile prints the difference found: as JSON, or the counts with,
// for a dry run, every relationship.
func printReconcile(w io.Writer, d reconcile.Drift, dryRun, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(reconcileResult{DryRun: dryRun, Missing: relStrings(d.Missing), Extra: relStrings(d.Extra), Kept: relStrings(d.Kept)})
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
		return nil
	}
	if dryRun {
		for _, r := range d.Missing {
			fmt.Fprintln(w, "+ "+rel.String(r))
		}
		for _, r := range d.Extra {
			fmt.Fprintln(w, "- "+rel.String(r))
		}
		// Restrictions the snapshot does not address stay; say
		// which, so a snapshot that forgot them can be fixed.
		for _, r := range d.Kept {
			fmt.Fprintln(w, "= "+rel.String(r)+" (kept: the snapshot does not address it)")
		}
	}
	verb := "repaired"
	if dryRun {
		verb = "would repair"
	}
	fmt.Fprintf(w, "%s: %d missing, %d extra relationships; %d restrictions kept\n", verb, len(d.Missing), len(d.Extra), len(d.Kept))
	return nil
}
