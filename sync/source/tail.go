package source

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// headBytes bounds a file's fingerprint: the hash of its first bytes, at
// most this many and never past the committed offset, so the bytes hashed
// were read and applied and an appending writer never changes them.
const headBytes = 1024

// filePosition is the committed position of a file source, written as
// "f2|offset|device|inode|head length|head hash". Positions committed
// before files were identified are a bare offset (legacy).
type filePosition struct {
	offset   int64
	dev, ino uint64
	headLen  int64
	head     string
	legacy   bool
}

func (p filePosition) String() string {
	if p.legacy {
		return strconv.FormatInt(p.offset, 10)
	}
	return fmt.Sprintf("f2|%d|%d|%d|%d|%s", p.offset, p.dev, p.ino, p.headLen, p.head)
}

func parseFilePosition(s string) (filePosition, error) {
	if !strings.HasPrefix(s, "f2|") {
		off, err := strconv.ParseInt(s, 10, 64)
		if err != nil || off < 0 {
			return filePosition{}, fmt.Errorf("position %q is not a file position (an offset, or f2|offset|device|inode|head length|head hash)", s)
		}
		return filePosition{offset: off, legacy: true}, nil
	}
	parts := strings.Split(s, "|")
	if len(parts) != 6 {
		return filePosition{}, fmt.Errorf("position %q has %d fields, want 6 (f2|offset|device|inode|head length|head hash)", s, len(parts))
	}
	var p filePosition
	var err error
	if p.offset, err = strconv.ParseInt(parts[1], 10, 64); err != nil || p.offset < 0 {
		return filePosition{}, fmt.Errorf("position %q: offset %q is not a byte offset", s, parts[1])
	}
	if p.dev, err = strconv.ParseUint(parts[2], 10, 64); err != nil {
		return filePosition{}, fmt.Errorf("position %q: device %q is not a number", s, parts[2])
	}
	if p.ino, err = strconv.ParseUint(parts[3], 10, 64); err != nil {
		return filePosition{}, fmt.Errorf("position %q: inode %q is not a number", s, parts[3])
	}
	if p.headLen, err = strconv.ParseInt(parts[4], 10, 64); err != nil || p.headLen < 0 || p.headLen > min(headBytes, p.offset) {
		return filePosition{}, fmt.Errorf("position %q: head length %q is not between 0 and %d", s, parts[4], min(headBytes, p.offset))
	}
	p.head = parts[5]
	return p, nil
}

// FileOffset is the byte offset a file source's committed position (as
// sync.Applier.Position returns it) names.
func FileOffset(position string) (int64, error) {
	p, err := parseFilePosition(position)
	return p.offset, err
}

func fingerprint(head []byte) string {
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:16])
}

// fileID is the device and inode of a file; zero where the system has
// none (Windows: the fingerprint alone then tells files apart). Read by
// reflection because syscall.Stat_t exists only on Unix and its fields'
// types differ between systems.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	v := reflect.ValueOf(fi.Sys())
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, 0
	}
	num := func(name string) uint64 {
		f := v.Elem().FieldByName(name)
		switch {
		case f.CanUint():
			return f.Uint()
		case f.CanInt():
			if i := f.Int(); i >= 0 {
				return uint64(i)
			}
		}
		return 0
	}
	return num("Dev"), num("Ino")
}

// mismatch says how the open file fh (fi) differs from the file p is an
// offset into, or "" when it is that file. byInode false accepts a copy
// (copytruncate's): another inode with the same bytes up to the offset as
// far as the fingerprint and the line end tell.
func mismatch(fh *os.File, fi os.FileInfo, p filePosition, byInode bool) string {
	dev, ino := fileID(fi)
	if byInode && !p.legacy && (dev != p.dev || ino != p.ino) {
		return fmt.Sprintf("the path now holds another file (device %d inode %d, not device %d inode %d): it was replaced", dev, ino, p.dev, p.ino)
	}
	if fi.Size() < p.offset {
		return fmt.Sprintf("it holds %d bytes, fewer than the %d already read from it: it was truncated", fi.Size(), p.offset)
	}
	if p.offset == 0 {
		return ""
	}
	if !p.legacy {
		head := make([]byte, p.headLen)
		if _, err := fh.ReadAt(head, 0); err != nil {
			return fmt.Sprintf("its first %d bytes cannot be read (%v)", p.headLen, err)
		}
		if fingerprint(head) != p.head {
			return fmt.Sprintf("its first %d bytes are not those read before: it was rewritten", p.headLen)
		}
	}
	// Positions are committed at line ends; a legacy one may also be the
	// end of a file whose last line had no newline.
	last := make([]byte, 1)
	if _, err := fh.ReadAt(last, p.offset-1); err != nil {
		return fmt.Sprintf("byte %d cannot be read (%v)", p.offset-1, err)
	}
	if last[0] != '\n' && !(p.legacy && p.offset == fi.Size()) {
		return fmt.Sprintf("offset %d does not end a line in it: it was rewritten", p.offset)
	}
	return ""
}

// tail is one input being read: a file (or stdin) and what was read of it.
type tail struct {
	name     string
	fh       *os.File // nil for stdin
	dev, ino uint64
	br       *bufio.Reader
	pos      int64  // just past the last complete line handed out
	pending  []byte // the start of a line no newline has ended yet
	head     []byte // the first min(headBytes, pos) bytes
	// eofEndsLine: the end of a stream ends its last line (stdin); a
	// file's end is only where its writer got to.
	eofEndsLine bool
	legacy      bool // positions are bare offsets (stdin)
	grew        bool // the last drain read something
	quietSince  time.Time
	// copyOfCut: a copy of a file truncated while followed, whose end is
	// the same switch as the truncation, counted once.
	copyOfCut bool
	// The fingerprint of head[:fpLen], hashed once per length rather than
	// once per event.
	fp    string
	fpLen int64
}

func openTail(path string) (*tail, os.FileInfo, error) {
	fh, err := os.Open(path) //nolint:gosec // G304: the operator names the events file; reading it is the point
	if err != nil {
		return nil, nil, fmt.Errorf("opening events file: %w", err)
	}
	fi, err := fh.Stat()
	if err != nil {
		_ = fh.Close() // the Stat error is the one to report
		return nil, nil, fmt.Errorf("reading events file %s: %w", path, err)
	}
	t := &tail{name: path, fh: fh, br: bufio.NewReaderSize(fh, 1<<20)}
	t.dev, t.ino = fileID(fi)
	return t, fi, nil
}

// close closes a file only read: nothing is lost if closing fails.
func (t *tail) close() {
	if t != nil && t.fh != nil {
		_ = t.fh.Close()
	}
}

// seek makes the next line read the one at off, a line end of the file.
func (t *tail) seek(off int64) error {
	if _, err := t.fh.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("seeking %s to %d: %w", t.name, off, err)
	}
	t.head = make([]byte, min(headBytes, off))
	if _, err := t.fh.ReadAt(t.head, 0); err != nil {
		return fmt.Errorf("reading the first %d bytes of %s: %w", len(t.head), t.name, err)
	}
	t.br.Reset(t.fh)
	t.pos, t.pending, t.fp = off, nil, ""
	return nil
}

// consume hands out the line at t.pos.
func (t *tail) consume(line []byte) {
	if n := headBytes - len(t.head); n > 0 && int64(len(t.head)) == t.pos {
		t.head = append(t.head, line[:min(n, len(line))]...)
	}
	t.pos += int64(len(line))
}

// position is the committed form of offset off in t.
func (t *tail) position(off int64) filePosition {
	if t.legacy {
		return filePosition{offset: off, legacy: true}
	}
	hl := min(headBytes, off)
	if t.fp == "" || t.fpLen != hl {
		t.fp, t.fpLen = fingerprint(t.head[:hl]), hl
	}
	return filePosition{offset: off, dev: t.dev, ino: t.ino, headLen: hl, head: t.fp}
}

// changed says how the followed file was cut or rewritten in place since
// it was read ("" when it only grew or stayed).
func (t *tail) changed() (string, error) {
	fi, err := t.fh.Stat()
	if err != nil {
		return "", fmt.Errorf("reading events file %s: %w", t.name, err)
	}
	if read := t.pos + int64(len(t.pending)); fi.Size() < read {
		return fmt.Sprintf("it shrank to %d bytes, below the %d already read: it was truncated", fi.Size(), read), nil
	}
	if len(t.head) > 0 && !t.sameHead() {
		return fmt.Sprintf("its first %d bytes changed: it was rewritten in place", len(t.head)), nil
	}
	return "", nil
}

// sameHead tells whether the file still starts with the bytes read first;
// a file whose start cannot be read back is not known to.
func (t *tail) sameHead() bool {
	now := make([]byte, len(t.head))
	_, err := t.fh.ReadAt(now, 0)
	return err == nil && bytes.Equal(now, t.head)
}
