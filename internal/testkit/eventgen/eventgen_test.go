package eventgen_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// TestStreamIsValid: every generated event decodes and applies, so the
// generator can drive crash and differential tests.
func TestStreamIsValid(t *testing.T) {
	lines := eventgen.New(7).Stream(1500)
	if !bytes.Equal(bytes.Join(lines, nil), bytes.Join(eventgen.New(7).Stream(1500), nil)) {
		t.Fatal("the same seed gave different streams")
	}
	evs, err := event.DecodeEvents(bytes.Join(lines, []byte("\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	a := sync.NewApplier(testenv.SpiceDB(t, testenv.Memory))
	for i := 0; i < len(evs); i += 250 {
		if _, err := a.Apply(context.Background(), evs[i:min(i+250, len(evs))]); err != nil {
			t.Fatalf("batch at %d: %v", i, err)
		}
	}
}

func mixed(seed uint64, n int) []eventgen.Event {
	return eventgen.New(seed, eventgen.WithAllKinds(), eventgen.WithInvalid(10)).Events(n)
}

// TestMixedStreamIsLabelled: a mixed stream is as reproducible as a plain
// one, holds every kind of bad event, and its valid events are as many as
// asked for less the bad ones.
func TestMixedStreamIsLabelled(t *testing.T) {
	a, b := mixed(3, 3000), mixed(3, 3000)
	kinds := map[string]int{}
	for i := range a {
		if !bytes.Equal(a[i].Line, b[i].Line) || a[i].Invalid != b[i].Invalid {
			t.Fatalf("event %d differs between two runs of one seed", i)
		}
		kinds[a[i].Invalid]++
	}
	for _, k := range eventgen.InvalidKinds() {
		if kinds[k] == 0 {
			t.Errorf("no %s event in 3000", k)
		}
	}
	if bad := len(a) - kinds[""]; bad < 150 || bad > 450 {
		t.Errorf("%d bad events of %d at 10%%", bad, len(a))
	}
	t.Logf("%v", kinds)
}

// TestMixedStreamAgainstSync: sync applies the valid events of a mixed
// stream and refuses each bad one where it stands, by itself. (The
// differential test asks the same of the reference model, and compares the
// states.)
func TestMixedStreamAgainstSync(t *testing.T) {
	ctx := context.Background()
	evs := mixed(5, 1500)
	a := sync.NewApplier(testenv.SpiceDB(t, testenv.Memory), sync.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	var pending [][]byte
	apply := func(lines [][]byte) error {
		decoded, err := event.DecodeEvents(bytes.Join(lines, []byte("\n")), true)
		if err == nil {
			_, err = a.Apply(ctx, decoded)
		}
		return err
	}
	flush := func() {
		if len(pending) > 0 {
			if err := apply(pending); err != nil {
				t.Fatalf("a batch of valid events: %v", err)
			}
		}
		pending = nil
	}
	for i, e := range evs {
		if e.Invalid == "" {
			pending = append(pending, e.Line)
			continue
		}
		flush()
		err := apply([][]byte{e.Line})
		var ee *event.Error
		if !errors.As(err, &ee) {
			t.Errorf("event %d (%s): sync says %v, want an EventError\n%s", i, e.Invalid, err, e.Line)
		}
	}
	flush()
}
