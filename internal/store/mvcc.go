package store

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// Every record is versioned the same way: the physical key is the logical
// key followed by the big-endian revision that created it, and the value
// is the big-endian revision that deleted it (0 while live) followed by
// the payload. A reader at revision R sees the version created at or
// before R and not deleted at or before R, so one bbolt read transaction
// answers for any retained revision without engine snapshots, and a
// commit is visible all at once because bbolt commits atomically.
const revLen = 8

type version struct {
	logical []byte
	created Revision
	deleted Revision
	payload []byte
}

func (v version) visibleAt(at Revision) bool {
	return v.created <= at && (v.deleted == 0 || v.deleted > at)
}

func splitVersion(k, v []byte) (version, bool) {
	if len(k) < revLen || len(v) < revLen {
		return version{}, false
	}
	return version{
		logical: k[:len(k)-revLen],
		created: revisionFromBytes(k[len(k)-revLen:]),
		deleted: revisionFromBytes(v[:revLen]),
		payload: v[revLen:],
	}, true
}

func physicalKey(logical []byte, created Revision) []byte {
	k := make([]byte, 0, len(logical)+revLen)
	k = append(k, logical...)
	return append(k, created.bytes()...)
}

func versionValue(deleted Revision, payload []byte) []byte {
	v := make([]byte, revLen, revLen+len(payload))
	binary.BigEndian.PutUint64(v, uint64(deleted))
	return append(v, payload...)
}

// getAt returns the version of logical visible at at.
func getAt(b *bolt.Bucket, logical []byte, at Revision) (version, bool) {
	c := b.Cursor()
	for k, v := c.Seek(logical); k != nil && len(k) == len(logical)+revLen && bytes.HasPrefix(k, logical); k, v = c.Next() {
		ver, ok := splitVersion(k, v)
		if ok && ver.visibleAt(at) {
			return ver, true
		}
	}
	return version{}, false
}

// liveVersion returns the not-yet-deleted version of logical, if any.
func liveVersion(b *bolt.Bucket, logical []byte) (version, bool) {
	c := b.Cursor()
	for k, v := c.Seek(logical); k != nil && len(k) == len(logical)+revLen && bytes.HasPrefix(k, logical); k, v = c.Next() {
		ver, ok := splitVersion(k, v)
		if ok && ver.deleted == 0 {
			return ver, true
		}
	}
	return version{}, false
}

// scanAt calls fn for each version visible at at whose logical key starts
// with prefix and is greater than after (when after is set), in key
// order, until fn returns false or limit versions were passed to fn. It
// returns the logical key of the last version passed, for resuming.
func scanAt(b *bolt.Bucket, prefix, after []byte, at Revision, limit int, fn func(version) (bool, error)) ([]byte, error) {
	c := b.Cursor()
	start := prefix
	if after != nil && bytes.Compare(after, prefix) >= 0 {
		// Seeking to after+0xFF.. would skip its own versions; they are
		// filtered below instead.
		start = after
	}
	var last []byte
	n := 0
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		ver, ok := splitVersion(k, v)
		if !ok || !ver.visibleAt(at) {
			continue
		}
		if after != nil && bytes.Compare(ver.logical, after) <= 0 {
			continue
		}
		last = append(last[:0], ver.logical...)
		cont, err := fn(ver)
		if err != nil {
			return nil, err
		}
		n++
		if !cont || (limit > 0 && n >= limit) {
			return last, nil
		}
	}
	return nil, nil
}

// putVersion makes payload the live version of logical from rev on. It
// reports the version it replaced, if any.
func putVersion(b *bolt.Bucket, logical []byte, rev Revision, payload []byte) (version, bool, error) {
	old, had, err := deleteVersion(b, logical, rev)
	if err != nil {
		return old, had, err
	}
	return old, had, b.Put(physicalKey(logical, rev), versionValue(0, payload))
}

// deleteVersion ends the live version of logical at rev. A version created
// by the same revision is removed outright: no reader can see it.
func deleteVersion(b *bolt.Bucket, logical []byte, rev Revision) (version, bool, error) {
	old, had := liveVersion(b, logical)
	if !had {
		return old, false, nil
	}
	old.payload = bytes.Clone(old.payload)
	old.logical = bytes.Clone(old.logical)
	pk := physicalKey(logical, old.created)
	if old.created == rev {
		return old, true, b.Delete(pk)
	}
	return old, true, b.Put(pk, versionValue(rev, old.payload))
}
