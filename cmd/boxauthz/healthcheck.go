package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheckCmd asks a running server's health endpoint: images built FROM
// scratch have no shell or curl for a container health check to run.
func healthcheckCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "health URL to ask; healthy when it answers 200")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--url: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("asking %s: %w", *url, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &exitError{code: 1, err: fmt.Errorf("%s answered %d: %s", *url, resp.StatusCode, body)}
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}
