package testenv

import (
	"bytes"
	gosync "sync"
)

// LockedBuffer collects log output written from concurrent goroutines (a
// server's handlers) for a test to read.
type LockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
