package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"
)

// readyProbe is boxauthz's readiness check: GET /readyz on the address the
// test process will use, until it answers 200, the container exits, or the
// timeout passes. /readyz is 200 once SpiceDB answers and holds the schema.
type readyProbe struct {
	b       *BoxauthzContainer
	timeout time.Duration
}

func (p *readyProbe) Timeout() *time.Duration { return &p.timeout }

func (p *readyProbe) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	var last error
	backoff := 50 * time.Millisecond
	for {
		if st, err := target.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("boxauthz exited (code %d) before it was ready: %s", st.ExitCode, containerLogs(ctx, target))
		}
		eps, err := p.endpoints(ctx, target)
		if err != nil {
			last = err
		}
		var errs []error
		for _, ep := range eps {
			base := "http://" + ep
			err := readyz(ctx, hc, base)
			if err == nil {
				p.b.baseURL = base
				return nil
			}
			errs = append(errs, fmt.Errorf("%s: %w", ep, err))
		}
		if len(errs) > 0 {
			last = errors.Join(errs...)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("boxauthz not ready after %s: %w (last probe: %w); logs: %s", p.timeout, ctx.Err(), last, containerLogs(context.WithoutCancel(ctx), target))
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (p *readyProbe) endpoints(ctx context.Context, target wait.StrategyTarget) ([]string, error) {
	if port := p.b.settings.hostPort; port != 0 {
		return []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, nil
	}
	return mappedEndpoints(ctx, target, HTTPPort)
}

func readyz(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s: %s", resp.Status, body)
	}
	return nil
}
