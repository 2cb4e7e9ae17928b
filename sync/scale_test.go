package sync_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

// TestDeleteHugeFolderInterruptedAndResumed deletes a folder with tens of
// thousands of descendants, far more than one SpiceDB write takes: the
// delete is interrupted halfway, the subtree grants nothing meanwhile, and
// a second run removes exactly what is left.
func TestDeleteHugeFolderInterruptedAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	// 20,200 items (about 80,000 relationships) in CI; BOXAUTHZ_SCALE=100k
	// runs the 100,000 descendants.
	folders, filesPer := 200, 100
	switch os.Getenv("BOXAUTHZ_SCALE") {
	case "100k":
		folders, filesPer = 500, 200
	case "40k":
		folders, filesPer = 400, 100
	}
	ds := testenv.Memory
	if os.Getenv("BOXAUTHZ_SCALE_DATASTORE") == "postgres" {
		ds = testenv.Postgres
	}
	c := testenv.SpiceDB(t, ds)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	a := sync.NewApplier(c, sync.WithLogger(quiet))
	lines := []string{
		fixture.EntAcme, fixture.UserBob, `{"id":"top","type":"folder.created","folder":{"id":"top","parent":"0","owner":"alice"}}`,
		`{"id":"keep","type":"folder.created","folder":{"id":"keep","parent":"0","owner":"alice"}}`,
		`{"id":"cb","type":"collaboration.created","collaboration":{"id":"kb","item":{"type":"folder","id":"top"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`,
	}
	for f := 0; f < folders; f++ {
		lines = append(lines, fmt.Sprintf(`{"id":"d%d","type":"folder.created","folder":{"id":"d%d","parent":"top","owner":"alice"}}`, f, f))
		for i := 0; i < filesPer; i++ {
			lines = append(lines, fmt.Sprintf(`{"id":"f%d-%d","type":"file.created","file":{"id":"f%d-%d","parent":"d%d","owner":"alice"}}`, f, i, f, i, f))
		}
	}
	start := time.Now()
	evs := fixture.Decode(t, lines...)
	for s := 0; s < len(evs); s += 1000 {
		if _, err := a.Apply(ctx, evs[s:min(s+1000, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("created %d items in %s", folders*(filesPer+1)+1, time.Since(start))

	del := fixture.Decode(t, `{"id":"del-top","type":"folder.deleted","folder":{"id":"top"}}`)
	broken := sync.NewApplier(&failingWrites{Client: c, n: 5}, sync.WithLogger(quiet))
	start = time.Now()
	if _, err := broken.Apply(ctx, del); err == nil {
		t.Fatal("want the injected failure")
	}
	t.Logf("delete interrupted at its 5th write after %s", time.Since(start))
	mid := fixture.Export(t, c)
	if !strings.Contains(strings.Join(mid, "\n"), "folder:top#trashed@user:*") {
		t.Fatal("the half-deleted folder is not in the trash")
	}
	left := 0
	for _, r := range mid {
		if strings.HasPrefix(r, "file:f") {
			left++
		}
	}
	if left == 0 || left == folders*filesPer*3 {
		t.Fatalf("the failure did not fall mid-delete (%d file relationships left)", left)
	}
	start = time.Now()
	res, err := sync.NewApplier(c, sync.WithLogger(quiet)).Apply(ctx, del)
	if err != nil || res.Applied != 1 || res.Writes < 2 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	t.Logf("resumed delete in %d writes, %s", res.Writes, time.Since(start))
	for _, r := range fixture.Export(t, c) {
		if strings.Contains(r, ":top") || strings.HasPrefix(r, "file:") || strings.HasPrefix(r, "folder:d") || strings.HasPrefix(r, "collaboration:") {
			t.Fatalf("left behind: %s", r)
		}
	}
	if !strings.Contains(strings.Join(fixture.Export(t, c), "\n"), "folder:keep#owner@user:alice") {
		t.Fatal("the delete took a folder beside it")
	}
}
