package store

import "encoding/binary"

// The on-disk encodings store signed values as their two's-complement bit
// patterns; these are the only conversions between the two, checked
// where a length could be out of range.

func bitsOf(i int64) uint64 { return uint64(i) } //nolint:gosec // G115: a bit pattern, undone by fromBits

func fromBits(u uint64) int64 { return int64(u) } //nolint:gosec // G115: undoes bitsOf

func nanosBits(n int) uint32 { return uint32(n) } //nolint:gosec // G115: time.Nanosecond is in [0, 1e9)

// lengthPrefixed splits a uvarint-length-prefixed field off p.
func lengthPrefixed(p []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(p)
	if w <= 0 {
		return nil, nil, false
	}
	p = p[w:]
	if n > uint64(len(p)) {
		return nil, nil, false
	}
	return p[:n], p[n:], true
}

func appendLengthPrefixed(b, field []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(field)))
	return append(b, field...)
}
