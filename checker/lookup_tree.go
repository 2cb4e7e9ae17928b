package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/checker/tree"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Lookups by the folder tree. SpiceDB's LookupResources walks down the
// folders one level per dispatch, so a lookup costs more the deeper and
// wider the trees a user sees: a second for 600 files 30 folders deep on
// PostgreSQL. Instead: ask SpiceDB only where the user holds something on an
// item itself (the chain rules' per-item leaves, no recursion), take every
// item below those from the folder tree index, and decide each from its
// chain as a chain check does. Every SpiceDB read is at the one revision the
// index is known to stand at exactly, so the answer is exact at that
// revision; when the index cannot vouch for one, the lookup goes SpiceDB's
// way.

// lookupWait bounds how long a lookup with a consistency token waits for
// the tree index to reach it before asking SpiceDB the slow way: a few of
// PostgreSQL's watch polls (100 ms).
const lookupWait = 300 * time.Millisecond

// withoutLinks names, for the leaves that a presented shared link widens,
// the same leaf without links: a lookup presents none, and asking the link
// part would make SpiceDB weigh every link of the store against the empty
// presented one.
var withoutLinks = map[string]string{
	schema.HereVisible:      schema.HereAll,
	schema.HerePreviewLink:  schema.HerePreview,
	schema.HereDownloadLink: schema.HereDownload,
	schema.HereEditLink:     schema.HereEdit,
}

// treeLister is a Tree that lookups can read at one revision.
type treeLister interface {
	Tree
	Revision() (*v1.ZedToken, bool)
	RevisionCovering(ctx context.Context, want *v1.ZedToken, wait time.Duration) (*v1.ZedToken, bool)
	Read(at *v1.ZedToken, fn func(tree.View)) bool
}

var _ treeLister = (*tree.Index)(nil)

// itemsByTree returns every item of typ user may do action on, after
// cur.After, sorted, and the snapshot they are exact at; ok is false when
// the tree cannot answer and the lookup must go SpiceDB's way.
func (c *Checker) itemsByTree(ctx context.Context, user string, action schema.Action, typ string, cur pageCursor, cons Consistency) (ids []string, snapshot string, ok bool, err error) {
	tl, isLister := c.tree.(treeLister)
	rule, known := chainRules[string(action)]
	if !isLister || !known || rule.eval == nil {
		return nil, "", false, nil
	}
	var at *v1.ZedToken
	switch {
	case cur.Snapshot != "":
		at = &v1.ZedToken{Token: cur.Snapshot}
	case cons.Token != "":
		at, ok = tl.RevisionCovering(ctx, &v1.ZedToken{Token: cons.Token}, lookupWait)
	default:
		at, ok = tl.Revision()
	}
	if at == nil || (cur.Snapshot == "" && !ok) {
		return nil, "", false, nil
	}
	held, ok, err := c.heldHere(ctx, user, rule, at, cur.Now)
	if err != nil || !ok {
		return nil, "", false, err
	}
	var allowed []string
	complete := true
	read := tl.Read(at, func(v tree.View) {
		if rule.only != "" {
			allowed, complete = onlyBelow(v, held[rule.only], typ)
			return
		}
		seen := map[string]bool{}
		prefix := typ + ":"
		for leaf, keys := range held {
			if leaf == schema.RelationInviteOff {
				continue // a restriction: it grants nothing below
			}
			for src := range keys {
				v.Subtree(src, func(k string) {
					if seen[k] || !strings.HasPrefix(k, prefix) {
						return
					}
					seen[k] = true
					chain, placed := v.Chain(k)
					if !placed {
						complete = false
						return
					}
					a := chainAnswer{chain: chain, got: func(perm, key string) bool {
						if perm == schema.RelationTrashed {
							return v.Trashed(key)
						}
						return held[perm][key]
					}}
					if rule.eval(a) {
						allowed = append(allowed, k)
					}
				})
			}
		}
	})
	if !read || !complete {
		return nil, "", false, nil
	}
	for _, k := range allowed {
		if id := schema.DecodeID(strings.TrimPrefix(k, typ+":")); id > cur.After {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, at.GetToken(), true, nil
}

// onlyBelow returns the items of typ at or below the sources that no trash
// reaches: what a rule that is only a leaf somewhere on the chain, and no
// trash on it, allows. complete is false when a source is not in the index.
func onlyBelow(v tree.View, sources map[string]bool, typ string) (allowed []string, complete bool) {
	keys := make([]string, 0, len(sources))
	for k := range sources {
		keys = append(keys, k)
	}
	return v.Reach(keys, typ+":")
}

// heldHere asks SpiceDB, at revision at, on which folders and files each of
// rule's leaves (but the trash, which the index knows) holds for user on
// the item itself, keyed by leaf and placement key. ok is false when an
// answer depends on context the lookup does not have.
func (c *Checker) heldHere(ctx context.Context, user string, rule chainRule, at *v1.ZedToken, now time.Time) (map[string]map[string]bool, bool, error) {
	st, err := structpb.NewStruct(map[string]any{"now": now.Format(time.RFC3339Nano), "presented_link": ""})
	if err != nil {
		return nil, false, fmt.Errorf("building a lookup's context: %w", err)
	}
	held := map[string]map[string]bool{}
	ask := func(typ, leaf string) (bool, error) {
		asked := leaf
		if plain, ok := withoutLinks[leaf]; ok {
			asked = plain
		}
		stream, err := c.client.LookupResources(ctx, &v1.LookupResourcesRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: at}},
			ResourceObjectType: typ, Permission: asked, Subject: UserSubject(user), Context: st,
		})
		if err != nil {
			return false, fmt.Errorf("looking up the %s %s of %q: %w", typ, leaf, user, err)
		}
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return true, nil
			}
			if err != nil {
				return false, fmt.Errorf("looking up the %s %s of %q: %w", typ, leaf, user, err)
			}
			switch resp.GetPermissionship() {
			case v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION:
				if held[leaf] == nil {
					held[leaf] = map[string]bool{}
				}
				held[leaf][rel.PlacementKey(typ, resp.GetResourceObjectId())] = true
			case v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
				return false, nil
			}
		}
	}
	for _, leaf := range rule.leaves {
		if leaf == schema.RelationTrashed {
			continue
		}
		for _, typ := range []string{schema.TypeFolder, schema.TypeFile} {
			if ok, err := ask(typ, leaf); err != nil || !ok {
				return nil, ok, err
			}
		}
	}
	for _, leaf := range rule.folderLeaves {
		if ok, err := ask(schema.TypeFolder, leaf); err != nil || !ok {
			return nil, ok, err
		}
	}
	return held, true, nil
}
