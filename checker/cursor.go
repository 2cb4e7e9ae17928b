package checker

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// DefaultCursorTTL is how long a lookup cursor may be used after its first
// page: long enough to page through any answer, short enough that a caller
// who lost access cannot keep reading the snapshot they once could.
const DefaultCursorTTL = 10 * time.Minute

// WithCursorKey sets the key lookup cursors are signed with. Replicas
// behind one load balancer must share it, so that a cursor from one is good
// at another; without it each Checker signs with a random key of its own.
func WithCursorKey(key []byte) Option {
	return func(c *Checker) { c.cursorKey = append([]byte(nil), key...) }
}

// WithCursorTTL sets how long a lookup cursor stays good (DefaultCursorTTL).
func WithCursorTTL(d time.Duration) Option { return func(c *Checker) { c.cursorTTL = d } }

// pageCursor is a lookup's cursor, opaque to callers: the first page's
// time and snapshot, the last id given out, and a MAC binding them to the
// question. Pages after the first read that exact snapshot, so an unsigned
// cursor would let a caller read any past state SpiceDB still keeps.
type pageCursor struct {
	Now      time.Time `json:"n"`
	Snapshot string    `json:"s"`
	After    string    `json:"a"`
	MAC      []byte    `json:"m,omitempty"`
}

// mac is the cursor's MAC for question (a canonical rendering of what was
// asked: kind, subject or item, action, type).
func (p pageCursor) mac(key []byte, question string) []byte {
	m := hmac.New(sha256.New, key)
	for _, f := range []string{question, p.Now.UTC().Format(time.RFC3339Nano), p.Snapshot, p.After} {
		// Length-prefixed, so no two field lists render alike.
		fmt.Fprintf(m, "%d:%s;", len(f), f)
	}
	return m.Sum(nil)
}

func (c *Checker) encodeCursor(p pageCursor, question string) string {
	p.MAC = p.mac(c.cursorKey, question)
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor given out for question, refusing any other
// and any older than the cursor lifetime.
func (c *Checker) decodeCursor(s, question string) (pageCursor, error) {
	var p pageCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil || p.After == "" || p.Snapshot == "" || p.Now.IsZero() || !hmac.Equal(p.MAC, p.mac(c.cursorKey, question)) {
		return pageCursor{}, errBadCursor
	}
	if age := c.now().Sub(p.Now); age > c.cursorTTL {
		return pageCursor{}, fmt.Errorf("expired: a cursor is good for %s after the first page; start again without one", c.cursorTTL)
	}
	return p, nil
}
