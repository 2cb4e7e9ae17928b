package main

import (
	"errors"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app is what every command writes to and logs with.
type app struct {
	stdout, stderr io.Writer
	logger         *slog.Logger
}

const rootLong = `boxauthz answers "may this user do this action on this item" with Box's
permission model on SpiceDB, and mirrors content change events into it.

Every flag can also be set as BOXAUTHZ_<FLAG>, upper case with dashes as
underscores (--admin-key is BOXAUTHZ_ADMIN_KEY); the command line wins.
BOXAUTHZ_LOG_LEVEL sets the log level (debug, info, warn, error; default
info), BOXAUTHZ_LOG_FORMAT the log format (text or json, one object a line;
default text).

Exit codes: 0 success (check: allowed), 1 check denied or a command's own
failure (schema validate, healthcheck), 2 usage or other error.`

const rootExample = `  boxauthz demo
  boxauthz test examples/acme_test.yaml
  boxauthz serve --admin-key "$(openssl rand -hex 32)"
  boxauthz check bob rename file:plan --admin-key "$KEY"
  boxauthz lookup items dave preview file --admin-key "$KEY"
  boxauthz sync --events events.jsonl --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN"
  boxauthz version --json`

// newRootCmd is the whole command tree.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "boxauthz",
		Short:         "Box's permission model on SpiceDB",
		Long:          rootLong,
		Example:       rootExample,
		Version:       readVersion().text(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd.Flags())
		},
	}
	root.SetVersionTemplate("{{.Version}}")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newServeCmd(a), newCheckCmd(a), newLookupCmd(a), newSyncCmd(a), newSchemaCmd(a),
		newDemoCmd(a), newTestCmd(a), newHealthcheckCmd(a), newBenchCmd(a), newVersionCmd(a),
	)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  boxauthz help check\n  boxauthz help sync reconcile"
		case "completion":
			describeCompletion(c)
		}
	}
	return root
}

// describeCompletion gives cobra's completion commands the examples every
// command has.
func describeCompletion(c *cobra.Command) {
	c.Example = "  source <(boxauthz completion bash)\n  boxauthz completion zsh > \"${fpath[1]}/_boxauthz\"\n  boxauthz completion fish > ~/.config/fish/completions/boxauthz.fish"
	for _, sh := range c.Commands() {
		switch sh.Name() {
		case "bash":
			sh.Example = "  source <(boxauthz completion bash)\n  boxauthz completion bash > /etc/bash_completion.d/boxauthz"
		case "zsh":
			sh.Example = "  boxauthz completion zsh > \"${fpath[1]}/_boxauthz\""
		case "fish":
			sh.Example = "  boxauthz completion fish > ~/.config/fish/completions/boxauthz.fish"
		case "powershell":
			sh.Example = "  boxauthz completion powershell | Out-String | Invoke-Expression"
		}
	}
}

// flagError is a flag that does not parse: a usage error naming the flags
// the command takes.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "unknown flag") || strings.Contains(msg, "unknown shorthand flag") {
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, "--"+f.Name)
			}
		})
		sort.Strings(names)
		msg += "\nValid flags: " + strings.Join(names, ", ")
	}
	return &usageError{err: errors.New(msg)}
}

// subcommandNames are the commands cmd runs, for an error that names them.
func subcommandNames(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			names = append(names, c.Name())
		}
	}
	return names
}

// groupRun is a command group's run: it only names its commands.
func groupRun(cmd *cobra.Command, args []string) error {
	valid := strings.Join(subcommandNames(cmd), ", ")
	if len(args) == 0 {
		return usagef("want a command: %s", valid)
	}
	return usagef("unknown command %q for %q\nValid commands: %s", args[0], cmd.CommandPath(), valid)
}

// exactArgs wants n positional arguments, named by what.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("want %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

// jsonHelp starts the paragraph of a command's help that documents its
// --json output.
const jsonHelp = "\n\nWith --json: "
