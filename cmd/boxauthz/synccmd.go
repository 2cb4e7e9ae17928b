package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/boxauthz/boxauthz/internal/progress"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync/reconcile"
	"github.com/boxauthz/boxauthz/sync/source"
)

func syncCmd(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) > 0 && args[0] == "reconcile" {
		return reconcileCmd(ctx, args[1:], stdout, logger)
	}
	if len(args) > 0 && args[0] == "position" {
		return positionCmd(ctx, args[1:], stdout, logger)
	}
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	var sf spicedbFlags
	sf.register(fs, false)
	events := fs.String("events", "", "JSONL file of events to mirror, or - for standard input")
	follow := fs.Bool("follow", false, "keep reading as the file grows (like tail -f)")
	dead := fs.String("dead-letter", "", "file bad events are appended to (default <events>.dead)")
	restart := fs.Bool("restart-replaced", false, "read --events from its start if it is not the file the committed position names and that file is not found")
	sourceName := fs.String("source-name", "", "name the position is committed under (default file:<absolute path>, stdin, or outbox:<host:port/db>)")
	outbox := fs.String("outbox-dsn", "", "PostgreSQL DSN of an application database whose boxauthz_outbox table to mirror (instead of --events)")
	every := fs.Duration("progress-interval", progress.DefaultInterval, "least time between two progress lines in the log while catching up")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if (*events == "") == (*outbox == "") {
		return errors.New("needs exactly one of --events FILE (or - for standard input) and --outbox-dsn DSN")
	}
	if sf.endpoint == "" {
		return errors.New("needs --spicedb-endpoint: sync mirrors into a SpiceDB that outlives it (to mirror into the embedded one, run serve --events)")
	}
	st, err := openStack(ctx, &sf, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if *outbox != "" {
		osrc, err := source.NewOutboxSource(*outbox, source.WithName(*sourceName), source.WithFollow(*follow), source.WithLogger(logger),
			source.WithProgress(sourceProgress(logger, "outbox", source.UnitRows, progress.WithInterval(*every))))
		if err != nil {
			return err
		}
		stats, err := osrc.Run(ctx, st.applier)
		fmt.Fprintf(stdout, "applied %d, duplicates %d, dead letters %d, position %s\n", stats.Applied, stats.Duplicates, stats.DeadLetters, stats.Position)
		return err
	}
	fsrc, err := source.NewFileSource(*events, source.WithStdin(os.Stdin), source.WithName(*sourceName), source.WithDeadLetter(*dead),
		source.WithFollow(*follow), source.WithRestartReplaced(*restart), source.WithLogger(logger),
		source.WithProgress(sourceProgress(logger, "events file "+*events, source.UnitBytes, progress.WithInterval(*every))))
	if err != nil {
		return err
	}
	stats, err := fsrc.Run(ctx, st.applier)
	fmt.Fprintf(stdout, "applied %d, duplicates %d, dead letters %d, position %d\n", stats.Applied, stats.Duplicates, stats.DeadLetters, stats.Position)
	return err
}

func reconcileCmd(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("sync reconcile", flag.ContinueOnError)
	var sf spicedbFlags
	sf.register(fs, false)
	snapshot := fs.String("snapshot", "", "JSONL of every current object, as *.created events")
	dryRun := fs.Bool("dry-run", false, "print the difference instead of writing it")
	every := fs.Duration("progress-interval", progress.DefaultInterval, "least time between two progress lines in the log")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *snapshot == "" {
		return errors.New("needs --snapshot FILE")
	}
	if sf.endpoint == "" {
		return errors.New("needs --spicedb-endpoint: reconcile repairs a SpiceDB that outlives it")
	}
	f, err := os.Open(*snapshot)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the snapshot: %w", err)
	}
	st, err := openStack(ctx, &sf, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	snap := newSnapshotProgress(ctx, f, fi.Size(), logger, *every)
	target := newWriteProgress(ctx, st.client, logger, *every)
	d, err := reconcile.Reconcile(ctx, target, snap, *dryRun, logger)
	if err != nil {
		return err
	}
	target.done(ctx)
	if *dryRun {
		for _, r := range d.Missing {
			fmt.Fprintln(stdout, "+ "+rel.String(r))
		}
		for _, r := range d.Extra {
			fmt.Fprintln(stdout, "- "+rel.String(r))
		}
		// Restrictions the snapshot does not address stay; say which, so
		// a snapshot that forgot them can be fixed.
		for _, r := range d.Kept {
			fmt.Fprintln(stdout, "= "+rel.String(r)+" (kept: the snapshot does not address it)")
		}
	}
	verb := "repaired"
	if *dryRun {
		verb = "would repair"
	}
	fmt.Fprintf(stdout, "%s: %d missing, %d extra relationships; %d restrictions kept\n", verb, len(d.Missing), len(d.Extra), len(d.Kept))
	return nil
}
