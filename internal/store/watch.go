package store

import (
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/authzed/spicedb/pkg/datastore"
)

// Watch replays the change log after afterRevision, then follows new
// commits. Each revision's changes arrive together and in commit order;
// with checkpoints asked for, a checkpoint follows each revision and,
// when idle, one is sent every CheckpointInterval.
func (s *Store) Watch(ctx context.Context, afterRevision datastore.Revision, opts datastore.WatchOptions) (<-chan datastore.RevisionChanges, <-chan error) {
	bufLen := opts.WatchBufferLength
	if bufLen == 0 {
		bufLen = s.cfg.watchBufferLength
	}
	changes := make(chan datastore.RevisionChanges, bufLen)
	errs := make(chan error, 1)
	fail := func(err error) {
		errs <- err
		close(changes)
		close(errs)
	}
	if opts.EmissionStrategy == datastore.EmitImmediatelyStrategy {
		fail(errors.New("emit immediately strategy is unsupported in the boxauthz store: changes are emitted per committed revision"))
		return changes, errs
	}
	head, _, err := s.headNow()
	if err != nil {
		fail(err)
		return changes, errs
	}
	after := asRevision(afterRevision)
	if after != head && after < s.oldestReadable() {
		fail(datastore.NewInvalidRevisionErr(afterRevision, datastore.RevisionStale))
		return changes, errs
	}
	timeout := opts.WatchBufferWriteTimeout
	if timeout <= 0 {
		timeout = s.cfg.watchWriteTimeout
	}
	w := &watcher{s: s, opts: opts, changes: changes, timeout: timeout, cursor: after}
	go func() {
		err := w.run(ctx)
		if err != nil {
			errs <- err
		}
		close(changes)
		close(errs)
	}()
	return changes, errs
}

type watcher struct {
	s       *Store
	opts    datastore.WatchOptions
	changes chan datastore.RevisionChanges
	timeout time.Duration
	cursor  Revision
}

func (w *watcher) run(ctx context.Context) error {
	checkpoints := w.opts.Content&datastore.WatchCheckpoints != 0
	var tick <-chan time.Time
	if checkpoints && w.opts.CheckpointInterval > 0 {
		t := time.NewTicker(w.opts.CheckpointInterval)
		defer t.Stop()
		tick = t.C
	}
	poll := time.NewTicker(DefaultWatchPollInterval)
	defer poll.Stop()
	for {
		signal := w.s.commitSignal()
		head, _, err := w.s.headNow()
		if err != nil {
			return err
		}
		if head > w.cursor {
			if err := w.emitUpTo(ctx, head, checkpoints); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return datastore.NewWatchCanceledErr()
		case <-signal:
		case <-poll.C:
		case <-tick:
			if err := w.send(ctx, datastore.RevisionChanges{Revision: w.cursor, IsCheckpoint: true}); err != nil {
				return err
			}
		}
	}
}

func (w *watcher) emitUpTo(ctx context.Context, head Revision, checkpoints bool) error {
	var found []datastore.RevisionChanges
	err := w.s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = readChanges(tx, w.cursor, head, w.opts.Content)
		return err
	})
	if err != nil {
		if isClosedErr(err) {
			return ErrClosed
		}
		return datastore.NewWatchTemporaryErr(err)
	}
	for _, rc := range found {
		if !hasContent(rc) {
			continue
		}
		if err := w.send(ctx, rc); err != nil {
			return err
		}
		if checkpoints {
			if err := w.send(ctx, datastore.RevisionChanges{Revision: rc.Revision, IsCheckpoint: true}); err != nil {
				return err
			}
		}
	}
	w.cursor = head
	if checkpoints && (len(found) == 0 || !found[len(found)-1].Revision.Equal(head)) {
		return w.send(ctx, datastore.RevisionChanges{Revision: head, IsCheckpoint: true})
	}
	return nil
}

func (w *watcher) send(ctx context.Context, rc datastore.RevisionChanges) error {
	t := time.NewTimer(w.timeout)
	defer t.Stop()
	select {
	case w.changes <- rc:
		return nil
	case <-ctx.Done():
		return datastore.NewWatchCanceledErr()
	case <-t.C:
		return datastore.NewWatchDisconnectedErr()
	}
}
