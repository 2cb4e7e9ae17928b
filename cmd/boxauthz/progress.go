package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/progress"
	"github.com/boxauthz/boxauthz/sync/reconcile"
	"github.com/boxauthz/boxauthz/sync/source"
)

// sourceProgress logs a source's progress through a progress reporter
// named what, in unit, until the run has caught up.
func sourceProgress(logger *slog.Logger, what, unit string, opts ...progress.Option) func(source.Progress) {
	rep := progress.New(logger, append([]progress.Option{progress.WithUnit(unit), progress.WithAttrs("source", what)}, opts...)...)
	return func(p source.Progress) {
		// The source calls between batches and has no context to give.
		ctx := context.Background()
		s := progress.Status{Position: p.Position, Total: p.Total, Events: int64(p.Applied + p.Duplicates + p.DeadLetters)}
		if p.CaughtUp {
			rep.Done(ctx, s)
			return
		}
		rep.Report(ctx, s)
	}
}

// snapshotProgress reports reading a snapshot of total bytes: bytes read
// and objects (lines) so far, then "snapshot read" at its end.
type snapshotProgress struct {
	ctx          context.Context
	r            io.Reader
	rep          *progress.Reporter
	total        int64
	read, events int64
}

func newSnapshotProgress(ctx context.Context, r io.Reader, total int64, logger *slog.Logger, every time.Duration) *snapshotProgress {
	rep := progress.New(logger, progress.WithInterval(every), progress.WithAttrs("snapshot", "reading"), progress.WithFinal("snapshot read"))
	sp := &snapshotProgress{ctx: ctx, r: r, rep: rep, total: total}
	rep.Report(ctx, sp.status())
	return sp
}

func (sp *snapshotProgress) status() progress.Status {
	return progress.Status{Position: sp.read, Total: sp.total, Events: sp.events}
}

func (sp *snapshotProgress) Read(b []byte) (int, error) {
	n, err := sp.r.Read(b)
	sp.read += int64(n)
	sp.events += int64(bytes.Count(b[:n], []byte{'\n'}))
	if errors.Is(err, io.EOF) {
		sp.rep.Done(sp.ctx, sp.status())
	} else {
		sp.rep.Report(sp.ctx, sp.status())
	}
	return n, err
}

// writeProgress reports the relationship updates a repair writes: their
// number is known only once the drift is, so position and rate only.
type writeProgress struct {
	reconcile.Client
	rep     *progress.Reporter
	written int64
}

func newWriteProgress(ctx context.Context, c reconcile.Client, logger *slog.Logger, every time.Duration) *writeProgress {
	rep := progress.New(logger, progress.WithInterval(every), progress.WithUnit("updates"), progress.WithAttrs("repair", "writing"), progress.WithFinal("repair written"))
	rep.Report(ctx, progress.Status{Events: -1})
	return &writeProgress{Client: c, rep: rep}
}

func (w *writeProgress) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	resp, err := w.Client.WriteRelationships(ctx, in, opts...)
	if err == nil {
		w.written += int64(len(in.GetUpdates()))
		w.rep.Report(ctx, progress.Status{Position: w.written, Events: -1})
	}
	return resp, err
}

// done logs the last line when anything was written.
func (w *writeProgress) done(ctx context.Context) {
	if w.written > 0 {
		w.rep.Done(ctx, progress.Status{Position: w.written, Events: -1})
	}
}
