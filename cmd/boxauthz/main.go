package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command line: it exits 0 on success, 2 on a usage or other
// error, and what a command asks for otherwise (check's 1 for denied).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	logger, err := newLogger(stderr, os.Getenv("BOXAUTHZ_LOG_LEVEL"), os.Getenv("BOXAUTHZ_LOG_FORMAT"))
	if err != nil {
		fmt.Fprintf(stderr, "boxauthz: %v\n", err)
		return 2
	}
	root := newRootCmd(&app{stdout: stdout, stderr: stderr, logger: logger})
	if len(args) == 0 {
		root.SetOut(stderr)
		_ = root.Usage()
		return 2
	}
	root.SetArgs(longFlags(args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	return report(stderr, cmd, err)
}

// report prints err as the command cmd failed with, and is the exit code.
func report(stderr io.Writer, cmd *cobra.Command, err error) int {
	path := "boxauthz"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, ee.err)
		}
		return ee.code
	}
	var ue *usageError
	msg := err.Error()
	// cobra's own "unknown command" errors come from finding the command.
	if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") {
		if strings.HasPrefix(msg, "unknown command") && !strings.Contains(msg, "Valid commands") && cmd != nil {
			msg = strings.TrimSpace(msg) + "\nValid commands: " + strings.Join(subcommandNames(cmd), ", ")
		}
		fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", path, msg, path)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %s\n", path, msg)
	return 2
}

// longFlags lets the single-dash long flags the command line always took
// (-admin-key k, -help) keep working: only -h is a one-letter flag.
func longFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && (a[1] >= 'a' && a[1] <= 'z') {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}
