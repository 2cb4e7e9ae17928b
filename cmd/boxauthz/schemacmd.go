package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/schema/validation"
)

func schemaCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("want print, validate <file> or apply")
	}
	switch args[0] {
	case "print":
		_, err := io.WriteString(stdout, schema.Text())
		return err
	case "validate":
		fs := flag.NewFlagSet("schema validate", flag.ContinueOnError)
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) == 0 {
			return errors.New("want one or more validation files")
		}
		failed := 0
		for _, f := range pos {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			res, err := validation.ValidateFile(ctx, data)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			for _, p := range res.Problems {
				fmt.Fprintf(stdout, "%s:%s\n", f, p)
			}
			if res.OK() {
				fmt.Fprintf(stdout, "%s: ok (%d assertions, %d expected relations)\n", f, res.Assertions, res.Expected)
			} else {
				failed++
			}
		}
		if failed > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d of %d files failed", failed, len(pos))}
		}
		return nil
	case "apply":
		fs := flag.NewFlagSet("schema apply", flag.ContinueOnError)
		var sf spicedbFlags
		sf.register(fs, false)
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		if sf.endpoint == "" {
			return errors.New("apply writes to an external SpiceDB: give --spicedb-endpoint (the embedded one gets the schema on start)")
		}
		c, err := sf.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		st, err := upgrade.Inspect(ctx, c)
		var ie *upgrade.IncompatibleError
		if err != nil && !errors.As(err, &ie) {
			return err
		}
		if st == upgrade.Compatible {
			fmt.Fprintln(stdout, "spicedb holds boxauthz's schema with additions; leaving it as it is")
			return nil
		}
		if _, err := schema.Write(ctx, c); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote boxauthz schema %s to %s\n", schema.Digest(), sf.endpoint)
		return nil
	}
	return fmt.Errorf("unknown schema command %q: want print, validate <file> or apply", args[0])
}
