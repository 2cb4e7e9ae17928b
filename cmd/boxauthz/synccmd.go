package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/boxauthz/boxauthz/internal/progress"
	"github.com/boxauthz/boxauthz/sync/source"
)

const syncLong = `sync mirrors events into an external SpiceDB (--spicedb-endpoint): a JSONL
event file (--events FILE, or - for standard input) or an application's
transactional outbox table (--outbox-dsn DSN). It commits its position in
SpiceDB and resumes from it; --follow keeps reading as events arrive. Prints
what it applied when it stops.

To mirror into the embedded SpiceDB, run serve --events instead.` +
	jsonHelp + `one object, {"source": string, "applied": number, "duplicates": number, "dead_letters": number, "position": string} (a file's position is its byte offset, an outbox's txid-id).`

const syncExample = `  boxauthz sync --events events.jsonl --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN"
  tail -f events.jsonl | boxauthz sync --events - --follow --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN"
  boxauthz sync --outbox-dsn "$APP_DSN" --follow --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN"
  boxauthz sync --events events.jsonl --json --spicedb-endpoint 127.0.0.1:50051 --spicedb-insecure --spicedb-token "$TOKEN"`

// syncResult is what sync --json prints.
type syncResult struct {
	Source      string `json:"source"`
	Applied     int    `json:"applied"`
	Duplicates  int    `json:"duplicates"`
	DeadLetters int    `json:"dead_letters"`
	Position    string `json:"position"`
}

func newSyncCmd(a *app) *cobra.Command {
	var (
		sf                               spicedbFlags
		events, dead, sourceName, outbox string
		follow, restart, asJSON          bool
	)
	every := progress.DefaultInterval
	cmd := &cobra.Command{
		Use:     "sync --events FILE|- | --outbox-dsn DSN",
		Short:   "Mirror an event file or an outbox into SpiceDB, resuming where it stopped",
		Long:    syncLong,
		Example: syncExample,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q\nValid commands: %s", args[0], cmd.CommandPath(), strings.Join(subcommandNames(cmd), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (events == "") == (outbox == "") {
				return usagef("needs exactly one of --events FILE (or - for standard input) and --outbox-dsn DSN")
			}
			if sf.endpoint == "" {
				return usagef("needs --spicedb-endpoint: sync mirrors into a SpiceDB that outlives it (to mirror into the embedded one, run serve --events)")
			}
			ctx := cmd.Context()
			st, err := openStack(ctx, &sf, a.logger)
			if err != nil {
				return err
			}
			defer st.Close()
			var (
				res    syncResult
				runErr error
			)
			if outbox != "" {
				osrc, err := source.NewOutboxSource(outbox, source.WithName(sourceName), source.WithFollow(follow), source.WithLogger(a.logger),
					source.WithProgress(sourceProgress(a.logger, "outbox", source.UnitRows, progress.WithInterval(every))))
				if err != nil {
					return err
				}
				stats, err := osrc.Run(ctx, st.applier)
				res, runErr = syncResult{Source: osrc.Name(), Position: stats.Position}, err
				res.Applied, res.Duplicates, res.DeadLetters = stats.Applied, stats.Duplicates, stats.DeadLetters
			} else {
				fsrc, err := source.NewFileSource(events, source.WithStdin(os.Stdin), source.WithName(sourceName), source.WithDeadLetter(dead),
					source.WithFollow(follow), source.WithRestartReplaced(restart), source.WithLogger(a.logger),
					source.WithProgress(sourceProgress(a.logger, "events file "+events, source.UnitBytes, progress.WithInterval(every))))
				if err != nil {
					return err
				}
				stats, err := fsrc.Run(ctx, st.applier)
				res, runErr = syncResult{Source: fsrc.Name(), Position: strconv.FormatInt(stats.Position, 10)}, err
				res.Applied, res.Duplicates, res.DeadLetters = stats.Applied, stats.Duplicates, stats.DeadLetters
			}
			if err := printSync(a.stdout, res, asJSON); err != nil {
				return err
			}
			return st.hint(runErr)
		},
	}
	fs := cmd.Flags()
	sf.register(fs, spicedbRequired)
	fs.StringVar(&events, "events", "", "JSONL file of events to mirror, or - for standard input")
	fs.BoolVar(&follow, "follow", false, "keep reading as the file grows (like tail -f), or the outbox as rows arrive")
	fs.StringVar(&dead, "dead-letter", "", "file bad events are appended to (default <events>.dead)")
	fs.BoolVar(&restart, "restart-replaced", false, "read --events from its start if it is not the file the committed position names and that file is not found")
	fs.StringVar(&sourceName, "source-name", "", "name the position is committed under (default file:<absolute path>, stdin, or outbox:<host:port/db>)")
	fs.StringVar(&outbox, "outbox-dsn", "", "PostgreSQL DSN of an application database whose boxauthz_outbox table to mirror (instead of --events)")
	fs.DurationVar(&every, "progress-interval", progress.DefaultInterval, "least time between two progress lines in the log while catching up")
	fs.BoolVar(&asJSON, "json", false, "print the result as one JSON object (fields above)")
	cmd.AddCommand(newReconcileCmd(a), newPositionCmd(a))
	return cmd
}

func printSync(w io.Writer, res syncResult, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	_, err := fmt.Fprintf(w, "applied %d, duplicates %d, dead letters %d, position %s\n", res.Applied, res.Duplicates, res.DeadLetters, res.Position)
	return err
}
