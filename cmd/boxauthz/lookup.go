package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/boxauthz/boxauthz/checker"
)

const lookupLong = `lookup lists what a user may act on, or who may act on an item, asking a
running boxauthz server (--server, with its admin key) or, with
--spicedb-endpoint, that SpiceDB directly. It follows the answer's cursors
to the end, or until --limit results.`

// lookupFlags are the flags lookup items and lookup users share.
type lookupFlags struct {
	ask    askFlags
	limit  int
	page   int
	asJSON bool
}

func (l *lookupFlags) register(cmd *cobra.Command) {
	l.ask.register(cmd.Flags())
	cmd.Flags().IntVar(&l.limit, "limit", 0, "stop after this many results (default: all)")
	cmd.Flags().IntVar(&l.page, "page-size", checker.DefaultLookupLimit, fmt.Sprintf("results asked per request (at most %d)", checker.MaxLookupLimit))
	cmd.Flags().BoolVar(&l.asJSON, "json", false, "print the results as one JSON object (fields above)")
}

// fetch is one page of a lookup: results and the cursor of the next page
// ("" on the last).
type fetch func(ctx context.Context, limit int, cursor string) ([]string, string, error)

// collect follows the lookup's pages to the end or to l.limit results.
func (l *lookupFlags) collect(ctx context.Context, page fetch) ([]string, error) {
	if l.limit < 0 {
		return nil, usagef("--limit %d: want 0 (all) or more", l.limit)
	}
	if l.page < 1 || l.page > checker.MaxLookupLimit {
		return nil, usagef("--page-size %d: want 1 to %d", l.page, checker.MaxLookupLimit)
	}
	out := []string{}
	cursor := ""
	for {
		size := l.page
		if l.limit > 0 {
			size = min(size, l.limit-len(out))
		}
		got, next, err := page(ctx, size, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if next == "" || (l.limit > 0 && len(out) >= l.limit) {
			return out, nil
		}
		if next == cursor {
			return nil, errNoAnswer
		}
		cursor = next
	}
}

// print writes results one a line, or as the JSON object head plus the
// results under key.
func (l *lookupFlags) print(w io.Writer, head map[string]any, key string, results []string) error {
	if l.asJSON {
		head[key] = results
		b, err := json.Marshal(head)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	for _, r := range results {
		if _, err := fmt.Fprintln(w, r); err != nil {
			return err
		}
	}
	return nil
}

func newLookupCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "lookup items|users",
		Short:   "List the items a user may act on, or the users who may act on an item",
		Long:    lookupLong,
		Example: "  boxauthz lookup items dave preview file --admin-key \"$KEY\"\n  boxauthz lookup users file:plan download --admin-key \"$KEY\"",
		RunE:    groupRun,
	}
	cmd.AddCommand(newLookupItemsCmd(a), newLookupUsersCmd(a))
	return cmd
}

func newLookupItemsCmd(a *app) *cobra.Command {
	var l lookupFlags
	cmd := &cobra.Command{
		Use:   "items <user> <action> <type>",
		Short: "List the items of a type on which a user may do an action",
		Long: lookupLong + `

Prints one item id a line. <action> is an item action (list, preview,
download, ...); <type> is folder or file, or, asking a server started with
--schema-extension, a type of the extension with one of its permissions.` + jsonHelp + `{"user": string, "action": string, "type": string, "items": [id, ...]}`,
		Example: `  boxauthz lookup items dave preview file --admin-key "$KEY"
  boxauthz lookup items bob edit folder --limit 100 --json --admin-key "$KEY"
  boxauthz lookup items bob list folder --spicedb-endpoint 127.0.0.1:50051 --spicedb-insecure --spicedb-token "$TOKEN"`,
		Args: exactArgs(3, "<user> <action> <type>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			act, typ, err := parseLookupItems(&l.ask, args[1], args[2])
			if err != nil {
				return err
			}
			ask, err := l.ask.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ask.Close()
			items, err := l.collect(cmd.Context(), func(ctx context.Context, limit int, cursor string) ([]string, string, error) {
				return ask.lookupItems(ctx, args[0], act, typ, limit, cursor)
			})
			if err != nil {
				return err
			}
			return l.print(a.stdout, map[string]any{"user": args[0], "action": act, "type": typ}, "items", items)
		},
	}
	l.register(cmd)
	return cmd
}

func newLookupUsersCmd(a *app) *cobra.Command {
	var l lookupFlags
	cmd := &cobra.Command{
		Use:   "users <type>:<id> <action>",
		Short: "List the users who may do an action on an item",
		Long: lookupLong + `

Prints one user id a line.` + jsonHelp + `{"item": {"type", "id"}, "action": string, "users": [id, ...]}`,
		Example: `  boxauthz lookup users file:plan download --admin-key "$KEY"
  boxauthz lookup users folder:projects edit --json --admin-key "$KEY"`,
		Args: exactArgs(2, "<type>:<id> <action>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			item, act, err := parseLookupUsers(&l.ask, args[0], args[1])
			if err != nil {
				return err
			}
			ask, err := l.ask.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ask.Close()
			users, err := l.collect(cmd.Context(), func(ctx context.Context, limit int, cursor string) ([]string, string, error) {
				return ask.lookupUsers(ctx, item, act, limit, cursor)
			})
			if err != nil {
				return err
			}
			return l.print(a.stdout, map[string]any{"item": item, "action": act}, "users", users)
		},
	}
	l.register(cmd)
	return cmd
}
