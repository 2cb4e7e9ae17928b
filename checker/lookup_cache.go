package checker

import (
	"container/list"
	"sort"
	gosync "sync"
	"time"
)

// lookupCacheEntries is how many answers of item lookups a Checker keeps
// for their later pages: every page of one lookup reads one snapshot, so
// its answer does not change from page to page.
const lookupCacheEntries = 16

// lookupCache keeps whole answers of item lookups that span several pages,
// keyed by question, snapshot and clock, least recently used first out.
type lookupCache struct {
	mu      gosync.Mutex
	entries map[string]*list.Element
	order   *list.List
}

type cachedLookup struct {
	key string
	ids []string // sorted
}

func newLookupCache() *lookupCache {
	return &lookupCache{entries: map[string]*list.Element{}, order: list.New()}
}

func lookupKey(question, snapshot string, now time.Time) string {
	return question + "|" + snapshot + "|" + now.UTC().Format(time.RFC3339Nano)
}

// after returns the cached answer's ids after the id after, and whether the
// answer was cached.
func (l *lookupCache) after(key, after string) ([]string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok {
		return nil, false
	}
	l.order.MoveToFront(e)
	ids := e.Value.(*cachedLookup).ids
	i := sort.SearchStrings(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	return append([]string(nil), ids[i:]...), true
}

func (l *lookupCache) put(key string, ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		l.order.MoveToFront(e)
		return
	}
	l.entries[key] = l.order.PushFront(&cachedLookup{key: key, ids: ids})
	for l.order.Len() > lookupCacheEntries {
		last := l.order.Back()
		delete(l.entries, last.Value.(*cachedLookup).key)
		l.order.Remove(last)
	}
}
