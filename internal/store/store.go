package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/authzed/spicedb/pkg/datastore"
)

// FormatVersion names the on-disk layout (buckets, key and value
// encodings). Open refuses any other version rather than misread it.
const FormatVersion uint32 = 1

// DataFileName is the bbolt file inside the data directory.
const DataFileName = "boxauthz.db"

var (
	bucketMeta     = []byte("meta")
	bucketRels     = []byte("rels")     // resource index: the record of truth
	bucketSubjects = []byte("subjects") // subject index: same versions, keyed by subject
	bucketNS       = []byte("namespaces")
	bucketCaveats  = []byte("caveats")
	bucketSchema   = []byte("schema")
	bucketCounters = []byte("counters")
	bucketChanges  = []byte("changes") // revision+sequence -> change, for Watch
	bucketRevs     = []byte("revisions")

	allBuckets = [][]byte{bucketMeta, bucketRels, bucketSubjects, bucketNS, bucketCaveats, bucketSchema, bucketCounters, bucketChanges, bucketRevs}

	metaFormat   = []byte("format")
	metaUniqueID = []byte("unique-id")
)

// Store is a datastore.Datastore kept in one bbolt file.
type Store struct {
	db       *bolt.DB
	cfg      config
	dir      string
	uniqueID string

	mu       sync.RWMutex
	closed   bool
	head     Revision
	headHash string
	commitCh chan struct{} // closed and replaced by each commit

	stopGC context.CancelFunc
	gcDone chan struct{}
	gcMu   sync.Mutex // one collection at a time
	gcRan  atomic.Bool
}

var _ datastore.Datastore = (*Store)(nil)

// Open opens or creates the store in dir.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, DataFileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.openTimeout, NoSync: cfg.noSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open data file %s: %w", path, err)
	}
	s := &Store{db: db, cfg: cfg, dir: dir, commitCh: make(chan struct{})}
	if err := db.Update(s.initialize); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := db.View(s.loadHead); err != nil {
		_ = db.Close()
		return nil, err
	}
	gcCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopGC = cancel
	s.gcDone = make(chan struct{})
	go s.runGC(gcCtx)
	return s, nil
}

// initialize creates the buckets of a new store, or checks the format of an
// existing one.
func (s *Store) initialize(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta != nil {
		raw := meta.Get(metaFormat)
		if len(raw) != 4 {
			return &FormatVersionError{Dir: s.dir, Found: 0, Expected: FormatVersion}
		}
		if found := binary.BigEndian.Uint32(raw); found != FormatVersion {
			return &FormatVersionError{Dir: s.dir, Found: found, Expected: FormatVersion}
		}
		s.uniqueID = string(meta.Get(metaUniqueID))
		return nil
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta = tx.Bucket(bucketMeta)
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], FormatVersion)
	s.uniqueID = uuid.NewString()
	if err := meta.Put(metaFormat, v[:]); err != nil {
		return fmt.Errorf("write format version: %w", err)
	}
	if err := meta.Put(metaUniqueID, []byte(s.uniqueID)); err != nil {
		return fmt.Errorf("write store id: %w", err)
	}
	// A first revision so HeadRevision has something to name before any write.
	return tx.Bucket(bucketRevs).Put(revisionForTime(time.Now()).bytes(), nil)
}

func (s *Store) loadHead(tx *bolt.Tx) error {
	k, v := tx.Bucket(bucketRevs).Cursor().Last()
	if len(k) != revLen {
		return corruptf("no revision recorded")
	}
	s.head, s.headHash = revisionFromBytes(k), string(v)
	return nil
}

// headNow returns the latest committed revision and its schema hash.
func (s *Store) headNow() (Revision, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, "", ErrClosed
	}
	return s.head, s.headHash, nil
}

func (s *Store) committed(rev Revision, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.head {
		s.head, s.headHash = rev, hash
	}
	close(s.commitCh)
	s.commitCh = make(chan struct{})
}

func (s *Store) commitSignal() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.commitCh
}

// Close stops background work and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.commitCh)
	s.mu.Unlock()
	s.stopGC()
	<-s.gcDone
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close data file: %w", err)
	}
	return nil
}

func (s *Store) checkOpen() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// MetricsID names the data file.
func (s *Store) MetricsID() (string, error) { return filepath.Join(s.dir, DataFileName), nil }

// UniqueID is generated when the store is created and kept in the file.
func (s *Store) UniqueID(context.Context) (string, error) {
	if err := s.checkOpen(); err != nil {
		return "", err
	}
	return s.uniqueID, nil
}

// ReadyState is ready once open: there are no migrations to wait for.
func (s *Store) ReadyState(ctx context.Context) (datastore.ReadyState, error) {
	if err := ctx.Err(); err != nil {
		return datastore.ReadyState{}, fmt.Errorf("check ready state: %w", err)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return datastore.ReadyState{Message: "store is closed"}, nil
	}
	return datastore.ReadyState{IsReady: true}, nil
}

// Features is OfflineFeatures: nothing depends on a connection.
func (s *Store) Features(context.Context) (*datastore.Features, error) { return s.OfflineFeatures() }

// OfflineFeatures lists what the store supports.
func (s *Store) OfflineFeatures() (*datastore.Features, error) {
	return &datastore.Features{
		Watch:                   datastore.Feature{Status: datastore.FeatureSupported},
		ContinuousCheckpointing: datastore.Feature{Status: datastore.FeatureSupported},
		WatchEmitsImmediately:   datastore.Feature{Status: datastore.FeatureUnsupported, Reason: "changes are emitted per committed revision"},
		IntegrityData:           datastore.Feature{Status: datastore.FeatureSupported},
	}, nil
}

func isClosedErr(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(err, bolterrors.ErrDatabaseNotOpen)
}
