package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCmd asks a running server's health endpoint: images built FROM
// scratch have no shell or curl for a container health check to run.
func newHealthcheckCmd(a *app) *cobra.Command {
	var (
		url     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "Exit 0 when a running server is ready (container health checks)",
		Long: `healthcheck asks a running server's health URL and exits 0 when it answers
200, 1 otherwise: images built FROM scratch have no shell or curl for a
container health check to run.`,
		Example: "  boxauthz healthcheck\n  boxauthz healthcheck --url http://127.0.0.1:8080/healthz --timeout 1s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return healthcheck(cmd.Context(), url, timeout, a.stdout)
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/readyz", "health URL to ask; healthy when it answers 200")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

func healthcheck(ctx context.Context, url string, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--url: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("asking %s: %w", url, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &exitError{code: 1, err: fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, body)}
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}
