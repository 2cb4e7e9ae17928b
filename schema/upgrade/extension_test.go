package upgrade

import (
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/extension"
)

const hubExt = `definition hub {
	relation folder: folder
	permission viewer = folder->preview
}
`

// countingWriter is a real SpiceDB whose schema writes are counted.
type countingWriter struct {
	schema.ReadWriter
	writes int
}

func (c *countingWriter) WriteSchema(ctx context.Context, in *v1.WriteSchemaRequest, opts ...grpc.CallOption) (*v1.WriteSchemaResponse, error) {
	c.writes++
	return c.ReadWriter.WriteSchema(ctx, in, opts...)
}

func startEmbedded(t *testing.T) *countingWriter {
	t.Helper()
	c, err := embedded.Start(t.Context())
	if err != nil {
		t.Fatalf("starting the embedded spicedb: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &countingWriter{ReadWriter: c}
}

func readSchema(t *testing.T, r schema.Reader) string {
	t.Helper()
	resp, err := r.ReadSchema(t.Context(), &v1.ReadSchemaRequest{})
	if err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	return resp.GetSchemaText()
}

func TestEnsureWithExtension(t *testing.T) {
	c := startEmbedded(t)
	ctx := t.Context()
	st, err := Ensure(ctx, c, WithExtension("hub.zed", []byte(hubExt)))
	if err != nil || st != Absent {
		t.Fatalf("first Ensure = %v, %v; want absent (then written)", st, err)
	}
	stored := readSchema(t, c)
	for _, want := range []string{"definition hub", "permission viewer = folder->preview", "definition folder", "definition boxauthz_access_token", "caveat not_expired"} {
		if !strings.Contains(stored, want) {
			t.Errorf("stored schema lacks %q", want)
		}
	}
	if st, err := Inspect(ctx, c); err != nil || st != Compatible {
		t.Fatalf("Inspect after Ensure = %v, %v; want compatible", st, err)
	}
	writes := c.writes
	for range 2 {
		if st, err := Ensure(ctx, c, WithExtension("hub.zed", []byte(hubExt))); err != nil || st != Compatible {
			t.Fatalf("Ensure again = %v, %v; want compatible", st, err)
		}
	}
	if c.writes != writes {
		t.Fatalf("Ensure with the same extension wrote %d more times, want none", c.writes-writes)
	}
	// Without the option the extended schema is left as it is, as today.
	if st, err := Ensure(ctx, c); err != nil || st != Compatible || c.writes != writes {
		t.Fatalf("Ensure without extension = %v, %v, %d writes; want compatible, none", st, err, c.writes-writes)
	}
}

func TestEnsureExtensionChanged(t *testing.T) {
	c := startEmbedded(t)
	ctx := t.Context()
	if _, err := Ensure(ctx, c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	// A schema of ours alone gains the extension.
	if st, err := Ensure(ctx, c, WithExtension("hub.zed", []byte(hubExt))); err != nil || st != Current {
		t.Fatalf("Ensure on ours = %v, %v; want current (then extended)", st, err)
	}
	if !strings.Contains(readSchema(t, c), "definition hub") {
		t.Fatal("the extension was not written over boxauthz's schema")
	}
	changed := strings.Replace(hubExt, "folder->preview", "folder->download", 1) + "\ndefinition room {}\n"
	if _, err := Ensure(ctx, c, WithExtension("hub.zed", []byte(changed))); err != nil {
		t.Fatalf("Ensure with a changed extension: %v", err)
	}
	stored := readSchema(t, c)
	if !strings.Contains(stored, "folder->download") || !strings.Contains(stored, "definition room") {
		t.Fatalf("the changed extension was not written:\n%s", stored[strings.Index(stored, "definition hub"):])
	}
}

func TestEnsureRefusedExtensionWritesNothing(t *testing.T) {
	c := startEmbedded(t)
	_, err := Ensure(t.Context(), c, WithExtension("bad.zed", []byte("definition folder {}\n")))
	var e *extension.Error
	if !errors.As(err, &e) || e.Name != "folder" || e.Line != 1 {
		t.Fatalf("Ensure err = %v, want the extension refused at bad.zed:1 folder", err)
	}
	if c.writes != 0 {
		t.Fatalf("a refused extension wrote the schema %d times", c.writes)
	}
	if st, err := Inspect(t.Context(), c); err != nil || st != Absent {
		t.Fatalf("Inspect = %v, %v; want absent", st, err)
	}
}
