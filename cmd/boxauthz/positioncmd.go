package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// DefaultQuietWindow is how long `sync position set` watches a position
// before moving it: a writer that commits within it is running.
const DefaultQuietWindow = 5 * time.Second

// Source kinds, as --kind names them.
const (
	kindFile   = "file"
	kindOutbox = "outbox"
)

func newPositionCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "position show|set",
		Short: "Inspect or move the position committed for a source",
		Long: `position reads or moves the position sync and serve commit for an event
source in the external SpiceDB: where its next run resumes.`,
		Example: "  boxauthz sync position show --source file:/data/events.jsonl --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\"\n  boxauthz sync position set --source file:/data/events.jsonl --position 0 --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\"",
		RunE:    groupRun,
	}
	cmd.AddCommand(newPositionShowCmd(a), newPositionSetCmd(a))
	return cmd
}

// positionFlags are the flags show and set share.
type positionFlags struct {
	sf     spicedbFlags
	source string
	kind   string
}

func (p *positionFlags) register(fs *pflag.FlagSet) {
	p.sf.register(fs, spicedbRequired)
	fs.StringVar(&p.source, "source", "", "name the position is committed under, as sync prints it (file:<absolute path>, stdin, outbox:<host:port/db>, or its --source-name)")
	fs.StringVar(&p.kind, "kind", "", "file or outbox (default: from the name, else from the committed position)")
}

func (p *positionFlags) check() error {
	if p.source == "" {
		return usagef("needs --source NAME")
	}
	if p.sf.endpoint == "" {
		return usagef("needs --spicedb-endpoint: positions are committed in a SpiceDB that outlives this command")
	}
	if p.kind != "" && p.kind != kindFile && p.kind != kindOutbox {
		return usagef("--kind %q: want file or outbox", p.kind)
	}
	return nil
}

// sourceKind is the kind of source name: from --kind, the name's prefix,
// or the shape of its committed position; "" when none tells.
func (p *positionFlags) sourceKind(committed string) string {
	switch {
	case p.kind != "":
		return p.kind
	case p.source == source.StdinName || strings.HasPrefix(p.source, "file:"):
		return kindFile
	case strings.HasPrefix(p.source, "outbox:"):
		return kindOutbox
	case committed == "":
		return ""
	case isOutboxPosition(committed):
		return kindOutbox
	}
	if _, err := source.ParseFilePosition(committed); err == nil {
		return kindFile
	}
	return ""
}

func newPositionShowCmd(a *app) *cobra.Command {
	var pf positionFlags
	cmd := &cobra.Command{
		Use:   "show --source NAME",
		Short: "Print the position committed for a source",
		Long: `show prints the position committed for the source, as sync names it, and
what it means: a file's offset and identity, an outbox's last row.`,
		Example: "  boxauthz sync position show --source file:/data/events.jsonl --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\"\n  boxauthz sync position show --source stdin --spicedb-endpoint 127.0.0.1:50051 --spicedb-insecure --spicedb-token \"$TOKEN\"",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return positionShow(cmd.Context(), &pf, a.stdout, a.logger)
		},
	}
	pf.register(cmd.Flags())
	return cmd
}

func positionShow(ctx context.Context, pf *positionFlags, stdout io.Writer, logger *slog.Logger) error {
	if err := pf.check(); err != nil {
		return err
	}
	st, err := openStack(ctx, &pf.sf, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	pos, err := st.applier.Position(ctx, pf.source)
	if err != nil {
		return err
	}
	if pos == "" {
		fmt.Fprintf(stdout, "%s: no position committed (its first run reads from the start)\n", pf.source)
		return nil
	}
	fmt.Fprintf(stdout, "%s: %s\n", pf.source, pos)
	if d := describePosition(pf.sourceKind(pos), pos); d != "" {
		fmt.Fprintln(stdout, "  "+d)
	}
	return nil
}

// describePosition decodes a committed position for a reader.
func describePosition(kind, pos string) string {
	switch kind {
	case kindOutbox:
		if op, err := source.ParseOutboxPosition(pos); err == nil {
			return fmt.Sprintf("after outbox row txid %s, id %s", op.TxID, op.ID)
		}
	case kindFile:
		fp, err := source.ParseFilePosition(pos)
		if err != nil {
			return ""
		}
		if fp.Legacy {
			return fmt.Sprintf("offset %d (from before positions named their file: any file at the path is taken as it)", fp.Offset)
		}
		return fmt.Sprintf("offset %d of the file with device %d, inode %d, whose first %d bytes hash to %s", fp.Offset, fp.Device, fp.Inode, fp.HeadLength, fp.HeadHash)
	}
	return ""
}

// validateFor checks that pos is a position the source name, of kind, can
// resume from.
func validateFor(kind, name, pos string) error {
	switch kind {
	case kindFile:
		fp, err := source.ParseFilePosition(pos)
		if err != nil {
			return fmt.Errorf("--position: %w", err)
		}
		// A stream cannot be identified: its position is a bare offset.
		if name == source.StdinName && !fp.Legacy {
			return fmt.Errorf("--position %q: standard input's position is a byte count, not a file's position", pos)
		}
	case kindOutbox:
		if _, err := source.ParseOutboxPosition(pos); err != nil {
			return fmt.Errorf("--position: %w", err)
		}
	default:
		return errors.New("cannot tell whether the source is a file or an outbox: give --kind")
	}
	return nil
}

// positionSetFlags are set's own flags.
type positionSetFlags struct {
	to, from string
	quiet    time.Duration
	force    bool
}

func newPositionSetCmd(a *app) *cobra.Command {
	var (
		pf positionFlags
		sf positionSetFlags
	)
	cmd := &cobra.Command{
		Use:   "set --source NAME --position P",
		Short: "Move the position committed for a source (refused while a writer holds it)",
		Long: `set commits a new position for the source, so its next run resumes there:
for a file, a byte offset at a line start (or a full position as show prints
it); for an outbox, txid-id. It is refused while a writer holds the source's
lease, or commits within --quiet-window; --force moves it anyway.`,
		Example: "  boxauthz sync position set --source file:/data/events.jsonl --position 0 --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\"\n  boxauthz sync position set --source outbox:db:5432/app --position 1234-5678 --from 1200-5000 --spicedb-endpoint spicedb:50051 --spicedb-token \"$TOKEN\"",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return positionSet(cmd.Context(), &pf, &sf, a.stdout, a.logger)
		},
	}
	fs := cmd.Flags()
	pf.register(fs)
	fs.StringVar(&sf.to, "position", "", "the position to commit: for a file, a byte offset at a line start (or a full position as show prints it); for an outbox, txid-id")
	fs.StringVar(&sf.from, "from", "", "the position expected now, as show printed it: refused if it is another (default: the one read)")
	fs.DurationVar(&sf.quiet, "quiet-window", DefaultQuietWindow, "how long the position must stay unchanged before it is moved: a writer that commits meanwhile is running")
	fs.BoolVar(&sf.force, "force", false, "move the position even though a writer holds the source's lease (one that is stuck, or on a host that is gone and whose lease has not ended yet)")
	return cmd
}

func positionSet(ctx context.Context, pf *positionFlags, f *positionSetFlags, stdout io.Writer, logger *slog.Logger) error {
	to, from, quiet, force := &f.to, &f.from, &f.quiet, &f.force
	if err := pf.check(); err != nil {
		return err
	}
	if *to == "" {
		return usagef("needs --position P")
	}
	st, err := openStack(ctx, &pf.sf, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	cur, err := st.applier.Position(ctx, pf.source)
	if err != nil {
		return err
	}
	if err := validateFor(pf.sourceKind(cur), pf.source, *to); err != nil {
		return err
	}
	if *from != "" && *from != cur {
		return fmt.Errorf("the position of %s is %q, not the %q given by --from: it moved since you looked", pf.source, cur, *from)
	}
	leased := func() error {
		if *force {
			return nil
		}
		return refuseLeased(ctx, st.applier, pf.source)
	}
	if err := leased(); err != nil {
		return err
	}
	if err := waitQuiet(ctx, st.applier.Position, pf.source, cur, *quiet); err != nil {
		return err
	}
	// A writer that started during the window holds the lease by now.
	if err := leased(); err != nil {
		return err
	}
	if err := st.applier.SetPosition(ctx, pf.source, cur, *to); err != nil {
		return err
	}
	was := cur
	if was == "" {
		was = "none"
	}
	fmt.Fprintf(stdout, "%s: position moved from %s to %s\n", pf.source, was, *to)
	return nil
}

// waitQuiet refuses to go on while a writer commits positions of source:
// nothing else marks a running writer, so one is taken to be running when
// the committed position moves within the window. A writer that is running
// but has nothing to commit (a follower caught up) is not seen.
func waitQuiet(ctx context.Context, position func(context.Context, string) (string, error), src, cur string, window time.Duration) error {
	if window <= 0 {
		return nil
	}
	t := time.NewTimer(window)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("watching the position of %s: %w", src, ctx.Err())
	case <-t.C:
	}
	now, err := position(ctx, src)
	if err != nil {
		return err
	}
	if now != cur {
		return fmt.Errorf("a writer is committing positions of %s (it moved from %q to %q within %s): stop it, then set the position", src, cur, now, window)
	}
	return nil
}

// refuseLeased refuses to go on while a writer holds a lease on src: a
// running writer, even one with nothing to commit, would go on from the
// position it holds in memory.
func refuseLeased(ctx context.Context, a *sync.Applier, src string) error {
	ls, err := a.Leases(ctx, src)
	if err != nil {
		return err
	}
	if len(ls) == 0 {
		return nil
	}
	holders := make([]string, len(ls))
	for i, l := range ls {
		holders[i] = fmt.Sprintf("%s (lease until %s)", l.Holder, l.Expires.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("a writer is running on %s: %s; stop it first (a writer that crashed stops holding it once its lease ends), or give --force",
		src, strings.Join(holders, ", "))
}

func isOutboxPosition(pos string) bool {
	_, err := source.ParseOutboxPosition(pos)
	return err == nil
}
