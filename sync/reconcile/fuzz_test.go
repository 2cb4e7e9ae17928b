package reconcile

import (
	"errors"
	"reflect"
	"testing"

	"github.com/boxauthz/boxauthz/sync/event"
)

// FuzzSnapshotLine feeds snapshotExtras arbitrary lines. It must not panic;
// a line it takes nothing out of decodes exactly as it did before (same
// event, or an error for the same field), and a line it takes extras out of
// is the same event with or without them.
func FuzzSnapshotLine(f *testing.F) {
	for _, s := range []string{
		`{"id":"s1","type":"folder.created","folder":{"id":"a","parent":"0","owner":"alice","trashed":true}}`,
		`{"id":"s1","type":"file.created","file":{"id":"a","parent":"b","owner":null,"trashed":false}}`,
		`{"id":"s1","type":"file.created","file":{"id":"a","parent":"b","owner":null,"owner":"x"}}`,
		`{"id":"s1","type":"folder.updated","folder":{"id":"a","parent":"0","owner":"o","can_non_owners_invite":false,"trashed":null}}`,
		`{"id":"s1","type":"user.created","user":{"id":"u","role":"admin","enterprise":"e","trashed":true}}`,
		`{"id":"s1","type":"folder.trashed","folder":{"id":"a","trashed":true}}`,
		`{"id":"s1","type":"folder.created","folder":{"id":"a","parent":"0","owner":"o","trashed":1}} x`,
		`{"id":"s1","type":"folder.created","folder":{"id":"a"},"folder":{"id":"b"}}`,
		`{"id":"s1","type":"fi\u006ce.created","file":{"id":"a","parent":"b","owner":"c","tr\u0061shed":true}}`,
		`[1]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		x, err := snapshotExtras(line, 1)
		if err != nil {
			var ee *event.Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *event.Error", err)
			}
			return
		}
		after, errAfter := event.DecodeEvent(x.line, 1)
		if _, trash := x.present["trashed"]; !trash && !x.ownerless {
			before, errBefore := event.DecodeEvent(line, 1)
			if (errBefore == nil) != (errAfter == nil) || !reflect.DeepEqual(before, after) {
				t.Fatalf("%q decoded as %+v (%v), rewritten %q as %+v (%v)", line, before, errBefore, x.line, after, errAfter)
			}
			var eb, ea *event.Error
			if errBefore != nil && errors.As(errBefore, &eb) && errors.As(errAfter, &ea) && eb.Field != ea.Field {
				t.Fatalf("%q: error for field %q, rewritten for %q", line, eb.Field, ea.Field)
			}
			return
		}
		if errAfter == nil && x.ownerless {
			if after.Folder != nil && after.Folder.Owner != noOwner || after.File != nil && after.File.Owner != noOwner {
				t.Fatalf("%q: ownerless, decoded with owner %+v %+v", x.line, after.Folder, after.File)
			}
		}
	})
}
