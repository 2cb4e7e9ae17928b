package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

const hubExample = "../../examples/hub.zed"

// serveWithHub builds boxauthz and serves it with the hub extension and
// the Acme sample, the embedded SpiceDB's gRPC exposed for writing hub
// relationships; it returns the binary, the server's URL and the gRPC
// address. The server stops with the test.
func serveWithHub(t *testing.T) (bin, base, grpcAddr string) {
	t.Helper()
	bin = buildBinary(t)
	ctx, cancel := context.WithCancel(t.Context())
	events := filepath.Join(t.TempDir(), "acme.jsonl")
	if err := os.WriteFile(events, examples.AcmeEvents, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	grpcAddr = testenv.FreeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--admin-key", "ext-key", "--events", events,
		"--schema-extension", hubExample, "--spicedb-grpc-addr", grpcAddr, "--spicedb-token", "ext-token")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	base = "http://" + addr
	if err := waitReadyz(ctx, base, 60*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	return bin, base, grpcAddr
}

// TestSchemaPrintWithExtension: print composes ours and the extension, and
// a refused extension exits non-zero naming its file, line and definition.
func TestSchemaPrintWithExtension(t *testing.T) {
	code, out, errs := runCmd(t, t.Context(), "schema", "print", "--schema-extension", hubExample)
	if code != 0 || !strings.Contains(out, "definition folder {") || !strings.Contains(out, "definition hub {") {
		t.Fatalf("schema print --schema-extension: exit %d %s", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.zed")
	if err := os.WriteFile(bad, []byte("definition hub {}\n\ndefinition folder {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCmd(t, t.Context(), "schema", "print", "--schema-extension", bad)
	if code == 0 || !strings.Contains(errs, "bad.zed:3") || !strings.Contains(errs, "folder") {
		t.Fatalf("schema print with a refused extension: exit %d %q; want it to name bad.zed:3 and folder", code, errs)
	}
}

// TestServeWithExtension runs the built binary with the hub extension and
// the Acme sample, links a hub to a folder through the exposed SpiceDB and
// checks the hub's permission over HTTP: it must agree with the folder's
// preview for every user.
func TestServeWithExtension(t *testing.T) {
	ctx := t.Context()
	_, base, grpcAddr := serveWithHub(t)
	sdb, err := spicedb.DialExternal(grpcAddr, spicedb.WithToken("ext-token"), spicedb.WithInsecure(true))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	wr, err := sdb.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "hub", ObjectId: "h1"}, Relation: "folder",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "folder", ObjectId: "launch"}},
		},
	}}})
	if err != nil {
		t.Fatalf("writing the hub's folder through spicedb: %v", err)
	}
	token := wr.GetWrittenAt().GetToken()
	allowed, denied := 0, 0
	for _, user := range []string{"alice", "bob", "dave", "erin", "xavier@partner.example", ""} {
		hub := postCheck(t, base, `{"user":"`+user+`","action":"viewer","item":{"type":"hub","id":"h1"},"consistency_token":"`+token+`"}`)
		folder := postCheck(t, base, `{"user":"`+user+`","action":"preview","item":{"type":"folder","id":"launch"},"consistency_token":"`+token+`"}`)
		if hub.status != 200 || folder.status != 200 || hub.Allowed != folder.Allowed {
			t.Errorf("%q: hub viewer %d %v, folder preview %d %v; want both 200 and alike (%s)", user, hub.status, hub.Allowed, folder.status, folder.Allowed, hub.body)
		}
		if hub.Allowed {
			allowed++
		} else {
			denied++
		}
	}
	if allowed == 0 || denied == 0 {
		t.Errorf("%d allowed, %d denied: want some of each", allowed, denied)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"user":"alice","action":"view","item":{"type":"hub","id":"h1"}}`, "want viewer"},
		{`{"user":"alice","action":"viewer","item":{"type":"hubb","id":"h1"}}`, "want folder, file, hub"},
		{`{"user":"alice","action":"viewer","item":{"type":"hub","id":"h1"},"explain":true}`, "explain"},
		{`{"user":"alice","action":"viewer","item":{"type":"folder","id":"launch"}}`, "action"},
	} {
		if got := postCheck(t, base, tt.body); got.status != 400 || !strings.Contains(got.body, tt.want) {
			t.Errorf("%s: %d %s; want 400 naming %q", tt.body, got.status, got.body, tt.want)
		}
	}
}

// TestServeRefusesBadExtension: serve stops before serving on an extension
// that redefines ours, naming the file, line and definition.
func TestServeRefusesBadExtension(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.zed")
	if err := os.WriteFile(bad, []byte("caveat not_expired(now timestamp) {\n\tnow == now\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, t.Context(), "serve", "--addr", testenv.FreeAddr(t), "--admin-key", "k", "--schema-extension", bad)
	if code == 0 || !strings.Contains(errs, "bad.zed:1") || !strings.Contains(errs, "not_expired") {
		t.Fatalf("serve with a refused extension: exit %d %q", code, errs)
	}
}

type checkReply struct {
	status  int
	body    string
	Allowed bool `json:"allowed"`
}

func postCheck(t *testing.T, base, body string) checkReply {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/check", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer ext-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	r := checkReply{status: resp.StatusCode, body: buf.String()}
	_ = json.Unmarshal(buf.Bytes(), &r)
	return r
}

// TestSchemaApplyWithExtension writes ours and the extension into a SpiceDB
// that outlives the command, and leaves it alone the second time.
func TestSchemaApplyWithExtension(t *testing.T) {
	addr := testenv.FreeAddr(t)
	target, err := embedded.Start(t.Context(), embedded.WithGRPCAddr(addr, "apply-key"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	args := []string{"schema", "apply", "--spicedb-endpoint", addr, "--spicedb-insecure", "--spicedb-token", "apply-key", "--schema-extension", hubExample}
	for i, want := range []string{"(found absent)", "(found compatible)"} {
		code, out, errs := runCmd(t, t.Context(), args...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("apply #%d: exit %d %q %s; want %q", i+1, code, out, errs, want)
		}
	}
	resp, err := target.ReadSchema(t.Context(), &v1.ReadSchemaRequest{})
	if err != nil || !strings.Contains(resp.GetSchemaText(), "definition hub") || !strings.Contains(resp.GetSchemaText(), "definition boxauthz_app") {
		t.Fatalf("after apply the schema lacks hub or ours: %v", err)
	}
}
