package source_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
	"github.com/boxauthz/boxauthz/sync/source"
)

// export lists every relationship SpiceDB holds except sync's own
// bookkeeping, as sorted strings.
func export(t *testing.T, c *spicedb.Client) []string {
	t.Helper()
	var out []string
	for _, typ := range sync.ModelTypes() {
		rs, _, err := spicedb.ReadAll(context.Background(), c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out = append(out, rel.String(r))
		}
	}
	sort.Strings(out)
	return out
}

func decode(t *testing.T, lines ...string) []event.Event {
	t.Helper()
	evs, err := event.DecodeEvents([]byte(strings.Join(lines, "\n")), true)
	if err != nil {
		t.Fatalf("decoding test events: %v", err)
	}
	return evs
}

var (
	entAcme  = `{"id":"u1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`
	userBob  = `{"id":"u2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`
	extXav   = `{"id":"u3","type":"user.created","user":{"id":"xav@ext.example"}}`
	rootA    = `{"id":"f1","type":"folder.created","folder":{"id":"a","parent":"0","owner":"alice"}}`
	subB     = `{"id":"f2","type":"folder.created","folder":{"id":"b","parent":"a","owner":"alice"}}`
	subC     = `{"id":"f3","type":"folder.created","folder":{"id":"c","parent":"b","owner":"alice"}}`
	fileX    = `{"id":"f4","type":"file.created","file":{"id":"x","parent":"c","owner":"alice"}}`
	collabB  = `{"id":"c1","type":"collaboration.created","collaboration":{"id":"k1","item":{"type":"folder","id":"b"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`
	baseTree = []string{entAcme, userBob, extXav, rootA, subB, subC, fileX}
)

// fileSource is a file source of path, failing the test when it cannot be
// made.
func fileSource(t *testing.T, path string, opts ...source.Option) *source.FileSource {
	t.Helper()
	f, err := source.NewFileSource(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// outboxSource is an outbox source of dsn, failing the test when it cannot
// be made.
func outboxSource(t *testing.T, dsn string, opts ...source.Option) *source.OutboxSource {
	t.Helper()
	o, err := source.NewOutboxSource(dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
