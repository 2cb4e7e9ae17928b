package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	"github.com/pb33f/libopenapi/datamodel"

	"github.com/boxauthz/boxauthz/docs"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// loadOpenAPI parses docs/openapi.yaml, resolving its reference to the
// event schema beside it.
func loadOpenAPI(t *testing.T) libopenapi.Document {
	t.Helper()
	doc, err := libopenapi.NewDocumentWithConfiguration(docs.OpenAPI(), &datamodel.DocumentConfiguration{
		BasePath: ".", AllowFileReferences: true,
	})
	if err != nil {
		t.Fatalf("parsing openapi.yaml: %v", err)
	}
	return doc
}

func TestOpenAPIIsValid31(t *testing.T) {
	doc := loadOpenAPI(t)
	if !bytes.Contains(docs.OpenAPI(), []byte(`$ref: "`+docs.EventsSchemaPath+`"`)) {
		t.Errorf("%s does not refer to the event schema as %s", docs.OpenAPIPath, docs.EventsSchemaPath)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi.yaml is OpenAPI %q, want 3.1", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("building the model: %v", err)
	}
	if model.Model.Paths == nil || model.Model.Paths.PathItems.Len() < 15 {
		t.Fatal("openapi.yaml describes too few paths")
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("building the validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml: %s: %s", e.Message, e.Reason)
		}
	}
}

// documentedOps lists the operations of openapi.yaml as "METHOD /path".
func documentedOps(t *testing.T, doc libopenapi.Document) []string {
	t.Helper()
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

var routeRE = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+ /[^"]*)"`)

// servedRoutes reads the routes internal/httpapi registers from its source:
// the server keeps its mux to itself, and this way a route added without
// being documented fails here.
func servedRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "internal", "httpapi", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range routeRE.FindAllSubmatch(b, -1) {
			routes = append(routes, string(m[1]))
		}
	}
	slices.Sort(routes)
	if len(routes) < 15 {
		t.Fatalf("found %d routes in internal/httpapi, want all of them: %v", len(routes), routes)
	}
	return routes
}

func TestEveryRouteDocumented(t *testing.T) {
	doc := loadOpenAPI(t)
	if got, want := documentedOps(t, doc), servedRoutes(t); !slices.Equal(got, want) {
		t.Errorf("documented operations differ from the served routes\ndocumented: %v\nserved:     %v", got, want)
	}
}

const (
	adminKey   = "test-admin-key"
	webhookKey = "test-webhook-key"
)

// startServe builds boxauthz and runs `boxauthz serve` on the embedded
// SpiceDB on a loopback port, the webhook endpoint on; it returns the base
// URL once /readyz answers 200.
func startServe(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs boxauthz serve")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "boxauthz")
	build := exec.Command("go", "build", "-o", bin, "./cmd/boxauthz")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building boxauthz: %v\n%s", err, out)
	}
	addr := testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--admin-key", adminKey,
		"--webhook-primary-key", webhookKey, "--webhook-dead-letter", filepath.Join(dir, "webhooks.dead"))
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	cmd.Env = withoutBoxauthzEnv(os.Environ())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 60s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// decodeNDJSON reads an NDJSON body as the array of its lines' values, the
// way the description's schema of it reads.
func decodeNDJSON(in *content.DecodeInput) (any, error) {
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// withoutBoxauthzEnv drops BOXAUTHZ_* variables, which would set serve's
// flags.
func withoutBoxauthzEnv(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "BOXAUTHZ_") {
			out = append(out, e)
		}
	}
	return out
}

func newValidator(t *testing.T) validator.Validator {
	t.Helper()
	v, errs := validator.NewValidator(loadOpenAPI(t), config.WithURLEncodedBodyValidation(),
		config.WithBodyDecoder("application/x-ndjson", content.DecoderFunc(decodeNDJSON)))
	if len(errs) > 0 {
		t.Fatalf("building the validator: %v", errs)
	}
	return v
}
