package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `boxauthz: Box's permission model on SpiceDB

Usage:
  boxauthz serve  [flags]                          the HTTP API (embedded SpiceDB by default)
  boxauthz check  <user> <action> <type>:<id>      ask a running server (exit 0 allowed, 1 denied, 2 error)
  boxauthz sync   --events <file|-> [--follow]     mirror a JSONL event file into SpiceDB, resuming where it stopped
  boxauthz sync   --outbox-dsn <dsn> [--follow]    mirror an application's transactional outbox table
  boxauthz sync reconcile --snapshot <file> [--dry-run]   repair drift against a snapshot of every object
  boxauthz sync position show|set --source <name> [--position <p>]   inspect or move a source's committed position
  boxauthz schema print | validate <file> | apply  the SpiceDB schema and its validation files
  boxauthz demo                                    load a sample enterprise and show real answers
  boxauthz healthcheck [--url URL]                 exit 0 when a running server is ready (container health checks)
  boxauthz bench  [--size x50] [--json]            measure checks on a generated data set (embedded SpiceDB by default)

Every flag can also be set as BOXAUTHZ_<FLAG>, e.g. BOXAUTHZ_ADMIN_KEY.
BOXAUTHZ_LOG_LEVEL sets the log level (debug, info, warn, error; default info);
BOXAUTHZ_LOG_FORMAT the log format (text or json, one object a line; default text).
Run "boxauthz <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	logger, err := newLogger(stderr, os.Getenv("BOXAUTHZ_LOG_LEVEL"), os.Getenv("BOXAUTHZ_LOG_FORMAT"))
	if err != nil {
		fmt.Fprintf(stderr, "boxauthz: %v\n", err)
		return 2
	}
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], logger)
	case "check":
		err = checkCmd(ctx, args[1:], stdout)
	case "sync":
		err = syncCmd(ctx, args[1:], stdout, logger)
	case "schema":
		err = schemaCmd(ctx, args[1:], stdout)
	case "demo":
		err = demoCmd(ctx, args[1:], stdout)
	case "healthcheck":
		err = healthcheckCmd(ctx, args[1:], stdout)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, logger)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "boxauthz: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "boxauthz %s: %v\n", args[0], ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "boxauthz %s: %v\n", args[0], err)
	return 2
}
