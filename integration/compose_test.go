package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dockerclient "github.com/moby/moby/client"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/tools/images"
)

// TestComposeSmoke runs docker-compose.yml (PostgreSQL, SpiceDB's migration,
// SpiceDB, boxauthz) on the images images.FindSpiceDBImage and
// FindPostgresImage find and ResolveBoxauthzImage builds, waits for every service's health check,
// mirrors the Acme enterprise through POST /v1/events and checks decisions
// with its consistency token, then removes the project's containers, network
// and volume.
func TestComposeSmoke(t *testing.T) {
	spicedbImage := needDocker(t)
	compose, err := composeCommand()
	if err != nil {
		t.Fatal(err) // a Docker daemon answers: the stack must run
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	start := time.Now()
	// Found, never built (scripts/test runs scripts/local-images first);
	// boxauthz's is the code under test, resolved in TestMain.
	pg, err := images.FindPostgresImage(ctx)
	if err != nil {
		t.Fatalf("postgres image: %v", err)
	}
	_, bxRef := needBoxauthz(t)
	bx := boxauthzImage
	t.Logf("images ready in %s: spicedb %s; postgres %s; boxauthz %s", time.Since(start).Round(time.Millisecond), image, pg, bx)

	adminKey := randomHex(t, 16)
	s := &composeStack{
		t:       t,
		cmd:     compose,
		project: "boxauthz-smoke-" + randomHex(t, 4),
		file:    filepath.Join("..", "docker-compose.yml"),
		env: []string{
			"SPICEDB_IMAGE=" + spicedbImage,
			"POSTGRES_IMAGE=" + pg.Ref,
			"BOXAUTHZ_IMAGE=" + bxRef,
			"POSTGRES_PASSWORD=" + randomHex(t, 12),
			"SPICEDB_PRESHARED_KEY=" + randomHex(t, 16),
			"BOXAUTHZ_ADMIN_KEY=" + adminKey,
			// Port 0: Docker picks a free host port; asked below.
			"BOXAUTHZ_HOST_PORT=0",
			"SPICEDB_HOST_PORT=0",
		},
	}
	t.Cleanup(s.down)

	upStart := time.Now()
	upArgs := []string{"up", "-d", "--no-build"}
	if compose[0] == "docker" { // Compose v2 waits for health itself
		upArgs = append(upArgs, "--wait")
	}
	if out, err := s.run(ctx, upArgs...); err != nil {
		t.Fatalf("%v\n%s\nlogs:\n%s", err, out, s.logs())
	}
	for _, svc := range []string{"postgres", "spicedb", "boxauthz"} {
		if err := s.waitHealthy(ctx, svc, 5*time.Minute); err != nil {
			t.Fatalf("%v\nlogs:\n%s", err, s.logs())
		}
	}
	if code, err := s.exitCode(ctx, "spicedb-migrate"); err != nil || code != 0 {
		t.Fatalf("spicedb-migrate: exit code %d, %v\nlogs:\n%s", code, err, s.logs())
	}
	hostPort, err := s.port(ctx, "boxauthz", "8080/tcp")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + hostPort
	if err := waitReady(ctx, base+"/readyz", 2*time.Minute); err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, s.logs())
	}
	t.Logf("stack up and healthy in %s (boxauthz on %s)", time.Since(upStart).Round(time.Millisecond), base)

	// Unauthenticated callers are refused.
	if code, _ := post(t, base+"/v1/check", "", "application/json", []byte(`{"user":"bob","action":"preview","item":{"type":"file","id":"plan"}}`)); code != http.StatusUnauthorized {
		t.Fatalf("check without the admin key: status %d, want 401", code)
	}

	code, body := post(t, base+"/v1/events", adminKey, "application/x-ndjson", examples.AcmeEvents)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/events: status %d: %s", code, body)
	}
	var applied struct {
		Applied          int    `json:"applied"`
		Duplicates       int    `json:"duplicates"`
		ConsistencyToken string `json:"consistency_token"`
	}
	if err := json.Unmarshal(body, &applied); err != nil {
		t.Fatalf("POST /v1/events: %v: %s", err, body)
	}
	lines := bytes.Count(bytes.TrimSpace(examples.AcmeEvents), []byte("\n")) + 1
	if applied.Applied+applied.Duplicates != lines || applied.Applied == 0 || applied.ConsistencyToken == "" {
		t.Fatalf("POST /v1/events of %d events answered %s", lines, body)
	}

	for _, c := range []struct {
		user, action, typ, id string
		want                  bool
	}{
		{"bob", "rename", "file", "plan", true},        // editor on the folder above it
		{"bob", "delete", "folder", "projects", false}, // the top-level delete rule
		{"nobody", "preview", "file", "plan", false},
	} {
		req, _ := json.Marshal(map[string]any{
			"user": c.user, "action": c.action,
			"item":              map[string]string{"type": c.typ, "id": c.id},
			"consistency_token": applied.ConsistencyToken,
		})
		code, body := post(t, base+"/v1/check", adminKey, "application/json", req)
		if code != http.StatusOK {
			t.Fatalf("check %s %s %s:%s: status %d: %s", c.user, c.action, c.typ, c.id, code, body)
		}
		var got struct {
			Allowed bool `json:"allowed"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("check: %v: %s", err, body)
		}
		if got.Allowed != c.want {
			t.Errorf("check %s %s %s:%s = %v, want %v", c.user, c.action, c.typ, c.id, got.Allowed, c.want)
		}
	}
	t.Logf("smoke test done in %s", time.Since(start).Round(time.Millisecond))
}

// composeCommand is Compose v2 (`docker compose`) where the docker CLI has
// it, otherwise the standalone v1 `docker-compose`.
func composeCommand() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}, nil
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		if out, err := exec.CommandContext(ctx, "docker-compose", "version").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("docker-compose version: %w: %s", err, out)
		}
		return []string{"docker-compose"}, nil
	}
	return nil, errors.New("a Docker daemon answers but neither `docker compose` nor `docker-compose` is installed")
}

// composeStack is one compose project of docker-compose.yml.
type composeStack struct {
	t       *testing.T
	cmd     []string // docker compose, or docker-compose
	project string
	file    string
	env     []string
}

func (s *composeStack) run(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{}, s.cmd[1:]...)
	full = append(full, "-p", s.project, "-f", s.file)
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, s.cmd[0], full...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", strings.Join(s.cmd, " "), strings.Join(args, " "), err)
	}
	return out, nil
}

// down removes the project's containers, networks and volumes, whatever
// state the test left them in.
func (s *composeStack) down() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := s.run(ctx, "down", "-v", "--remove-orphans", "--timeout", "10")
	if err != nil {
		s.t.Errorf("%v\n%s", err, out)
		return
	}
	// Nothing of the project may remain.
	cs, ns, vs, err := labelled(ctx, "com.docker.compose.project", s.project)
	if err != nil || len(cs)+len(ns)+len(vs) > 0 {
		s.t.Errorf("after down, of %s remain containers %q, networks %q, volumes %q (%v)", s.project, cs, ns, vs, err)
	}
	s.t.Logf("compose down -v in %s", time.Since(start).Round(time.Millisecond))
}

func (s *composeStack) logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _ := s.run(ctx, "logs", "--no-color", "--tail", "60")
	return string(out)
}

// container is svc's container (running or not), as the daemon sees it.
func (s *composeStack) container(ctx context.Context, svc string) (container.InspectResponse, error) {
	var ids []string
	err := withDocker(ctx, func(cli *dockerclient.Client) error {
		f := dockerclient.Filters{}.Add("label", "com.docker.compose.project="+s.project, "com.docker.compose.service="+svc)
		res, err := cli.ContainerList(ctx, dockerclient.ContainerListOptions{All: true, Filters: f})
		for _, c := range res.Items {
			ids = append(ids, c.ID)
		}
		return err
	})
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("listing the containers of %s: %w", svc, err)
	}
	if len(ids) != 1 {
		return container.InspectResponse{}, fmt.Errorf("service %s has %d containers (%q), want 1", svc, len(ids), ids)
	}
	return inspectContainer(ctx, ids[0])
}

// waitHealthy waits until svc's container reports healthy (or, without a
// health check, runs), polling the daemon; it fails as soon as the
// container exits or turns unhealthy.
func (s *composeStack) waitHealthy(ctx context.Context, svc string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := 100 * time.Millisecond
	var last string
	for {
		ctr, err := s.container(ctx, svc)
		if err == nil && ctr.State != nil {
			status, health := string(ctr.State.Status), "none"
			if ctr.State.Health != nil {
				health = string(ctr.State.Health.Status)
			}
			last = status + " " + health
			switch {
			case status == "exited" || status == "dead" || health == "unhealthy":
				return fmt.Errorf("service %s is %s", svc, last)
			case status == "running" && (health == "healthy" || health == "none"):
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s not healthy after %s: last state %q, %w", svc, timeout, last, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (s *composeStack) exitCode(ctx context.Context, svc string) (int, error) {
	ctr, err := s.container(ctx, svc)
	if err != nil {
		return -1, err
	}
	if ctr.State == nil || ctr.State.Status != "exited" {
		return -1, fmt.Errorf("%s is not exited: %+v", svc, ctr.State)
	}
	return ctr.State.ExitCode, nil
}

// port is the host address svc's container port is published on.
func (s *composeStack) port(ctx context.Context, svc, port string) (string, error) {
	ctr, err := s.container(ctx, svc)
	if err != nil {
		return "", err
	}
	return publishedOnLoopback(ctr, port)
}

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := 100 * time.Millisecond
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("status %d: %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %s", url, timeout, last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func post(t *testing.T, url, key, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp.StatusCode, b
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
