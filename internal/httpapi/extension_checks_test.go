package httpapi_test

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema/extension"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
)

const hubExt = "definition hub {\n\trelation folder: folder\n\tpermission viewer = folder->preview\n}\n"

// newExtendedAPI serves the API on the embedded SpiceDB holding ours and
// the hub extension, with the Acme sample loaded and hub h1 linked to the
// folder launch; it returns the consistency token of that link.
func newExtendedAPI(t *testing.T, opts ...httpapi.Option) (*httptest.Server, string) {
	t.Helper()
	c := testenv.SpiceDB(t, testenv.Memory)
	if _, err := upgrade.Ensure(t.Context(), c, upgrade.WithExtension("hub.zed", []byte(hubExt))); err != nil {
		t.Fatal(err)
	}
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	perms, err := extension.Permissions([]byte(hubExt), "hub.zed")
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey, append([]httpapi.Option{
		httpapi.WithExtension(checker.NewExtension(ch, perms)),
		httpapi.WithWebhookDeadLetter(filepath.Join(t.TempDir(), "webhooks.dead")),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	loadAcme(t, srv)
	wr, err := c.WriteRelationships(t.Context(), &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "hub", ObjectId: "h1"}, Relation: "folder",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "folder", ObjectId: "launch"}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, wr.GetWrittenAt().GetToken()
}

func TestCheckExtensionType(t *testing.T) {
	srv, tok := newExtendedAPI(t)
	tests := []struct {
		name, body string
		code       int
		allowed    bool
		mention    string
	}{
		{name: "owner of the folder views the hub", body: `{"user":"alice","action":"viewer","item":{"type":"hub","id":"h1"},"consistency_token":"` + tok + `"}`, code: 200, allowed: true},
		{name: "stranger does not", body: `{"user":"nobody","action":"viewer","item":{"type":"hub","id":"h1"},"consistency_token":"` + tok + `"}`, code: 200},
		{name: "hub without folders", body: `{"user":"alice","action":"viewer","item":{"type":"hub","id":"h2"}}`, code: 200},
		{name: "box item unchanged", body: `{"user":"alice","action":"preview","item":{"type":"folder","id":"launch"}}`, code: 200, allowed: true},
		{name: "box action on box item only", body: `{"user":"alice","action":"viewer","item":{"type":"file","id":"plan"}}`, code: 400, mention: "action"},
		{name: "unknown permission", body: `{"user":"alice","action":"preview","item":{"type":"hub","id":"h1"}}`, code: 400, mention: "want viewer"},
		{name: "unknown type", body: `{"user":"alice","action":"viewer","item":{"type":"room","id":"r1"}}`, code: 400, mention: "want folder, file, hub"},
		{name: "no action", body: `{"user":"alice","item":{"type":"hub","id":"h1"}}`, code: 400, mention: "action"},
		{name: "bad id", body: `{"user":"alice","action":"viewer","item":{"type":"hub","id":"a b"}}`, code: 400, mention: "item.id"},
		{name: "explain refused", body: `{"user":"alice","action":"viewer","item":{"type":"hub","id":"h1"},"explain":true}`, code: 400, mention: "explain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := call(t, srv, "POST", "/v1/check", adminKey, "application/json", tt.body)
			if code != tt.code {
				t.Fatalf("status %d %v, want %d", code, out, tt.code)
			}
			if code == 200 && out["allowed"] != tt.allowed {
				t.Fatalf("allowed = %v, want %v", out["allowed"], tt.allowed)
			}
			if code == 200 && out["consistency_token"] == "" {
				t.Fatal("no consistency token")
			}
			if tt.mention != "" && !strings.Contains(stringOf(out), tt.mention) {
				t.Fatalf("answer %v does not mention %q", out, tt.mention)
			}
		})
	}
}

// TestCheckOtherTypeWithoutExtension: with no extension loaded, any type
// but folder and file is refused as before.
func TestCheckOtherTypeWithoutExtension(t *testing.T) {
	srv := newAPI(t)
	code, out, _ := call(t, srv, "POST", "/v1/check", adminKey, "application/json", `{"user":"alice","action":"preview","item":{"type":"hub","id":"h1"}}`)
	if code != 400 || !strings.Contains(stringOf(out), "want folder or file") {
		t.Fatalf("status %d %v, want 400 wanting folder or file", code, out)
	}
}

func stringOf(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + "=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		} else if sub, ok := v.(map[string]any); ok {
			b.WriteString(stringOf(sub))
		}
		b.WriteString(" ")
	}
	return b.String()
}
