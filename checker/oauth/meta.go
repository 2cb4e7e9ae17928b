package oauth

import (
	"context"
	gosync "sync"
	"time"

	"github.com/boxauthz/boxauthz/schema"
)

// tokenMeta is what an access token is; immutable once written.
type tokenMeta struct {
	hash     string
	user     string
	scopes   []Scope
	resource *schema.ItemRef
	expires  time.Time
	parent   string
	refresh  string
	family   string
	grant    string
	session  string
	// irregular: more than one parent, family or grant, or no family or
	// grant, which boxauthz never writes. Such a token's validity may
	// depend on objects its fields do not name, so the revocation watch
	// does not vouch for it.
	irregular bool
}

func (t *Tokens) readAccess(ctx context.Context, hash string) (*tokenMeta, bool, error) {
	rels, err := t.readObject(ctx, typeAccessToken, hash)
	if err != nil {
		return nil, false, err
	}
	m := &tokenMeta{hash: hash}
	links := map[string]int{}
	for _, r := range rels {
		s := r.GetSubject().GetObject()
		links[r.GetRelation()]++
		switch r.GetRelation() {
		case relUser:
			m.user = schema.DecodeID(s.GetObjectId())
			m.expires = r.GetOptionalExpiresAt().AsTime()
		case relScope:
			m.scopes = append(m.scopes, Scope(s.GetObjectId()))
		case relResource:
			m.resource = &schema.ItemRef{Type: s.GetObjectType(), ID: schema.DecodeID(s.GetObjectId())}
		case relParent:
			m.parent = s.GetObjectId()
		case relRefresh:
			m.refresh = s.GetObjectId()
		case relFamily:
			m.family = s.GetObjectId()
		case relGrant:
			m.grant = s.GetObjectId()
		case relSession:
			m.session = s.GetObjectId()
		}
	}
	m.irregular = links[relParent] > 1 || links[relFamily] != 1 || links[relGrant] != 1 || links[relSession] != 1
	return m, m.user != "", nil
}

// access finds an access token's metadata, from the cache or SpiceDB. It
// says nothing of validity.
func (t *Tokens) access(ctx context.Context, token string) (*tokenMeta, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	return t.accessByHash(ctx, hashToken(token))
}

// accessByHash is access for a token's hash.
func (t *Tokens) accessByHash(ctx context.Context, h string) (*tokenMeta, bool, error) {
	if m := t.meta.get(h); m != nil {
		return m, true, nil
	}
	m, ok, err := t.readAccess(ctx, h)
	if err != nil || !ok {
		return nil, ok, err
	}
	t.meta.put(h, m)
	return m, true, nil
}

// metaCache keeps access token metadata, bounded; expired entries go first.
type metaCache struct {
	mu  gosync.Mutex
	max int
	m   map[string]*tokenMeta
}

func newMetaCache(limit int) *metaCache { return &metaCache{max: limit, m: map[string]*tokenMeta{}} }

func (c *metaCache) get(h string) *tokenMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[h]
}

func (c *metaCache) put(h string, m *tokenMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := time.Now()
		for k, v := range c.m {
			if v.expires.Before(now) {
				delete(c.m, k)
			}
		}
		// Still full: drop an arbitrary tenth; a dropped entry costs one read.
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[h] = m
}

func (c *metaCache) drop(h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, h)
}
