package httpapi

import (
	"math"
	"net"
	"net/http"
	gosync "sync"
	"time"
)

// failureLimiter slows down clients that keep presenting bad credentials:
// each client (by remote address) has a bucket of Burst failures that refills
// at PerMinute; a client whose bucket is empty is answered 429 before its
// request is looked at, so guessing tokens costs time.
type failureLimiter struct {
	perMinute float64
	burst     float64
	now       func() time.Time

	mu      gosync.Mutex
	clients map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxClients bounds the limiter's memory; full buckets are forgotten first.
const maxClients = 100_000

func newFailureLimiter(perMinute, burst int, now func() time.Time) *failureLimiter {
	if perMinute <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = perMinute
	}
	return &failureLimiter{perMinute: float64(perMinute), burst: float64(burst), now: now, clients: map[string]*bucket{}}
}

func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// refill brings b up to date; the caller holds mu.
func (l *failureLimiter) refill(b *bucket, now time.Time) {
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Minutes()*l.perMinute)
	b.at = now
}

// wait reports how long the client must wait before it is heard again, or 0.
func (l *failureLimiter) wait(client string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[client]
	if !ok {
		return 0
	}
	now := l.now()
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / l.perMinute * float64(time.Minute))
}

// fail records one failure of the client.
func (l *failureLimiter) fail(client string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= maxClients {
			l.forget(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.clients[client] = b
	}
	l.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// forget drops clients whose bucket has refilled, then any if still full.
func (l *failureLimiter) forget(now time.Time) {
	for k, b := range l.clients {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.clients, k)
		}
	}
	for k := range l.clients {
		if len(l.clients) < maxClients {
			return
		}
		delete(l.clients, k)
	}
}
