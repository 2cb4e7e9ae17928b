package source

import (
	"fmt"
	"regexp"
)

// FilePosition is a file source's committed position, decoded, for tools
// that show or move it (boxauthz sync position).
type FilePosition struct {
	// Offset is the byte offset of the next line to apply.
	Offset int64
	// Device, Inode and the hash of the file's first HeadLength bytes name
	// the file the offset is in.
	Device, Inode uint64
	HeadLength    int64
	HeadHash      string
	// Legacy positions, committed before positions named their file, are a
	// bare offset: any file at the path is taken as the one meant.
	Legacy bool
}

// ParseFilePosition decodes a file source's position as
// sync.Applier.Position returns it.
func ParseFilePosition(s string) (FilePosition, error) {
	p, err := parseFilePosition(s)
	if err != nil {
		return FilePosition{}, err
	}
	return FilePosition{Offset: p.offset, Device: p.dev, Inode: p.ino, HeadLength: p.headLen, HeadHash: p.head, Legacy: p.legacy}, nil
}

// OutboxPosition is an outbox source's committed position: the
// transaction id and row id of the last row applied, written "txid-id".
type OutboxPosition struct {
	TxID, ID string
}

// outboxPositionRE is the form of an outbox position; the numbers are kept
// as text, as the outbox query compares them.
var outboxPositionRE = regexp.MustCompile(`^(\d+)-(\d+)$`)

// ParseOutboxPosition decodes an outbox source's position.
func ParseOutboxPosition(s string) (OutboxPosition, error) {
	m := outboxPositionRE.FindStringSubmatch(s)
	if m == nil {
		return OutboxPosition{}, fmt.Errorf("position %q is not an outbox position (txid-id)", s)
	}
	return OutboxPosition{TxID: m[1], ID: m[2]}, nil
}
