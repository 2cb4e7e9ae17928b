package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// healthService is the service SpiceDB reports SERVING once its datastore
// and dispatcher are ready (the empty service is SERVING as soon as the gRPC
// server listens, before SpiceDB can answer).
const healthService = "authzed.api.v1.PermissionsService"

// healthProbe is the readiness check: it asks SpiceDB's gRPC health service,
// on the endpoint the test process will use, until SpiceDB reports its API
// SERVING, the container exits, or the timeout passes.
type healthProbe struct {
	c       *Container
	timeout time.Duration
}

func (h *healthProbe) Timeout() *time.Duration { return &h.timeout }

func (h *healthProbe) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	s := h.c.settings
	conns := map[string]*grpc.ClientConn{}
	defer func() {
		for _, conn := range conns {
			_ = conn.Close()
		}
	}()
	var last error
	backoff := 50 * time.Millisecond
	for {
		if st, err := target.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("spicedb exited (code %d) before it was healthy: %s", st.ExitCode, containerLogs(ctx, target))
		}
		eps, err := s.endpoints(ctx, target)
		if err != nil {
			last = err
		}
		var errs []error
		for _, ep := range eps {
			conn := conns[ep]
			if conn == nil {
				if conn, err = grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
					errs = append(errs, err)
					continue
				}
				conns[ep] = conn
			}
			err := probe(ctx, conn, s.key)
			if err == nil {
				h.c.endpoint = ep
				return nil
			}
			errs = append(errs, fmt.Errorf("%s: %w", ep, err))
		}
		if len(errs) > 0 {
			last = errors.Join(errs...)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("spicedb not healthy after %s: %w (last probe: %w); logs: %s", h.timeout, ctx.Err(), last, containerLogs(context.WithoutCancel(ctx), target))
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// probe asks grpc.health.v1.Health/Check for SpiceDB's API. The health
// service does not need the key; it is sent anyway, as a real client would.
func probe(ctx context.Context, conn *grpc.ClientConn, key string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: healthService})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s is %s", healthService, resp.GetStatus())
	}
	return nil
}

func containerLogs(ctx context.Context, t interface {
	Logs(context.Context) (io.ReadCloser, error)
},
) string {
	rc, err := t.Logs(ctx)
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	return tail(b)
}

// tail is the end of a container's output, enough to say why it failed
// without flooding the error.
func tail(out []byte) string {
	const maxLen = 4000
	out = bytes.TrimSpace(out)
	if len(out) > maxLen {
		out = append([]byte("..."), out[len(out)-maxLen:]...)
	}
	return string(out)
}
