package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	gosync "sync"
	"time"
)

// failureLimiter slows down callers that keep presenting bad credentials.
// Each key (a client address, or one presented credential) has a bucket of
// burst failures that refills at perMinute; a failure charged to an empty
// bucket is answered 429 instead of 401.
//
// Only failures are limited: a request is always heard, and a credential
// that authenticates is never refused, whatever others presented from the
// same address. The limit makes guessing slow and noisy (every guess past
// the burst waits out Retry-After), while one caller's bad tokens cannot
// lock out the address's other callers, nor the admin key, whose failures
// are counted apart from end users'.
type failureLimiter struct {
	perMinute float64
	burst     float64
	now       func() time.Time

	mu      gosync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the limiter's memory; full buckets are forgotten first.
const maxBuckets = 100_000

// Default bad-credential limits: a person mistyping never meets them, a
// script guessing meets them in seconds.
const (
	DefaultInvalidTokenLimit = 30
	DefaultInvalidTokenBurst = 60
)

// Failure classes: the admin key's failures and end users' are counted in
// separate buckets of an address, so neither limits the other.
const (
	classAdmin = "admin"
	classUser  = "user"
)

func newFailureLimiter(perMinute, burst int, now func() time.Time) *failureLimiter {
	if perMinute <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = perMinute
	}
	return &failureLimiter{perMinute: float64(perMinute), burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// credentialKey names a presented credential in the limiter by a hash, so
// no credential is kept in memory.
func credentialKey(credential string) string {
	sum := sha256.Sum256([]byte(credential))
	return "credential:" + hex.EncodeToString(sum[:16])
}

// refill brings b up to date; the caller holds mu.
func (l *failureLimiter) refill(b *bucket, now time.Time) {
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Minutes()*l.perMinute)
	b.at = now
}

// fail charges one failure to the client address (in its class) and to the
// presented credential, and reports how long the caller must wait before a
// failure is answered 401 again: 0 when both buckets still had room.
func (l *failureLimiter) fail(class, client, credential string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	keys := []string{class + "@" + client}
	if credential != "" {
		keys = append(keys, credentialKey(credential))
	}
	var wait time.Duration
	for _, k := range keys {
		b, ok := l.buckets[k]
		if !ok {
			if len(l.buckets) >= maxBuckets {
				l.forget(now)
			}
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[k] = b
		}
		l.refill(b, now)
		if b.tokens < 1 {
			wait = max(wait, time.Duration((1-b.tokens)/l.perMinute*float64(time.Minute)))
			continue
		}
		b.tokens--
	}
	return wait
}

// forget drops buckets that have refilled, then any if still full.
func (l *failureLimiter) forget(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxBuckets {
			return
		}
		delete(l.buckets, k)
	}
}
