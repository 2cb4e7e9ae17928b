package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
)

// TestCheckCommandWithExtension runs the built binary's serve with the hub
// extension, links hub h1 to the folder launch, and asks check about the
// hub, alone and in --bulk mixed with folder checks, through the binary.
func TestCheckCommandWithExtension(t *testing.T) {
	ctx := t.Context()
	bin, base, grpcAddr := serveWithHub(t)
	token := linkHub(ctx, t, grpcAddr)

	bulk := filepath.Join(t.TempDir(), "checks.jsonl")
	if err := os.WriteFile(bulk, []byte(strings.Join([]string{
		`{"id":"1","user":"alice","action":"viewer","item":{"type":"hub","id":"h1"}}`,
		`{"id":"2","user":"alice","action":"preview","item":{"type":"folder","id":"launch"}}`,
		`{"id":"3","user":"nobody","action":"viewer","item":{"type":"hub","id":"h1"}}`,
	}, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badBulk := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(badBulk, []byte(`{"user":"alice","action":"preview","item":{"type":"folder","id":"launch"}}`+"\n"+
		`{"user":"alice","action":"view","item":{"type":"hub","id":"h1"}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	server := []string{"--server", base, "--admin-key", "ext-key", "--consistency-token", token}
	direct := []string{"--spicedb-endpoint", grpcAddr, "--spicedb-insecure", "--spicedb-token", "ext-token"}
	tests := []struct {
		name string
		args []string
		code int
		want []string // in stdout when code < 2, else in stderr
	}{
		{name: "owner views the hub", args: append([]string{"alice", "viewer", "hub:h1"}, server...), code: 0, want: []string{"allowed"}},
		{name: "stranger does not", args: append([]string{"nobody", "viewer", "hub:h1"}, server...), code: 1, want: []string{"denied"}},
		{name: "json answer", args: append([]string{"alice", "viewer", "hub:h1", "--json"}, server...), code: 0, want: []string{`"allowed":true`, `"consistency_token"`}},
		{name: "unknown permission from the server", args: append([]string{"alice", "view", "hub:h1"}, server...), code: 2, want: []string{"400", "want viewer"}},
		{name: "unknown type from the server", args: append([]string{"alice", "viewer", "hubb:h1"}, server...), code: 2, want: []string{"400", "want folder, file, hub"}},
		{name: "box action still listed", args: append([]string{"alice", "viewer", "folder:launch"}, server...), code: 2, want: []string{actionNames()}},
		{name: "bulk mixed in order", args: append([]string{"--bulk", bulk}, server...), code: 1, want: []string{"allowed", "denied"}},
		{name: "bulk refused naming the check", args: append([]string{"--bulk", badBulk}, server...), code: 2, want: []string{"checks[1].action", "want viewer"}},
		{name: "direct refuses extension types", args: append([]string{"alice", "viewer", "hub:h1"}, direct...), code: 2, want: []string{`"hub"`, "--server instead of --spicedb-endpoint"}},
		{name: "direct bulk refuses them too", args: append([]string{"--bulk", bulk}, direct...), code: 2, want: []string{"check 1", "--server instead of --spicedb-endpoint"}},
		{name: "direct box check unchanged", args: append([]string{"alice", "preview", "folder:launch"}, direct...), code: 0, want: []string{"allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runBinary(ctx, t, bin, append([]string{"check"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			got := out
			if code == 2 {
				got = errs
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Fatalf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
	lookups := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"hubs alice views", append([]string{"items", "alice", "viewer", "hub"}, server...), 0, "h1"},
		{"who views hub h1", append([]string{"users", "hub:h1", "viewer"}, server...), 0, "alice"},
		{"unknown permission of a hub", append([]string{"items", "alice", "view", "hub"}, server...), 2, "want viewer"},
		{"direct refuses hub items", append([]string{"items", "alice", "viewer", "hub"}, direct...), 2, "give --server instead"},
		{"direct refuses hub users", append([]string{"users", "hub:h1", "viewer"}, direct...), 2, "give --server instead"},
	}
	for _, tt := range lookups {
		t.Run("lookup "+tt.name, func(t *testing.T) {
			code, out, errs := runBinary(ctx, t, bin, append([]string{"lookup"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tt.code, tt.want, out, errs)
			}
		})
	}
	t.Run("bulk lines in request order", func(t *testing.T) {
		_, out, errs := runBinary(ctx, t, bin, append([]string{"check", "--bulk", bulk, "--json"}, server...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		wants := []string{`"id":"1"`, `"id":"2"`, `"id":"3"`}
		allowed := []string{`"allowed":true`, `"allowed":true`, `"allowed":false`}
		if len(lines) != len(wants) {
			t.Fatalf("%d lines, want %d:\n%s\n%s", len(lines), len(wants), out, errs)
		}
		for i, l := range lines {
			if !strings.Contains(l, wants[i]) || !strings.Contains(l, allowed[i]) {
				t.Fatalf("line %d = %s, want %s and %s", i+1, l, wants[i], allowed[i])
			}
		}
	})
}

// linkHub writes hub:h1#folder@folder:launch through the server's exposed
// SpiceDB and returns the token it was written at.
func linkHub(ctx context.Context, t *testing.T, grpcAddr string) string {
	t.Helper()
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
	return wr.GetWrittenAt().GetToken()
}

// runBinary runs bin with args and returns its exit code and output.
func runBinary(ctx context.Context, t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errs.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errs.String()
	}
	t.Fatalf("running %s: %v", bin, err)
	return 0, "", ""
}
