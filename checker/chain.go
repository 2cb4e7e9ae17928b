package checker

import (
	"strconv"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Tree knows items' ancestor chains: what a chain check asks about. It is a
// hint, never trusted: every chain check confirms, in the same SpiceDB
// request and so at the same revision, that each item of the chain sits
// where the Tree says, and asks the question the recursive way when it does
// not (docs/schema.md, "Chain checks").
type Tree interface {
	// Chain returns the placement keys (rel.PlacementKey) of the item and
	// of every folder above it, the item first and a top-level folder last;
	// ok is false when the tree does not know the item or its whole chain.
	Chain(key string) (chain []string, ok bool)
}

// WithTree makes checks of items ask the item and its whole ancestor chain
// in one request, instead of SpiceDB walking the folders one level at a
// time: the cost of a check no longer grows with the item's depth.
func WithTree(t Tree) Option { return func(c *Checker) { c.tree = t } }

// maxExpectedBytes bounds one chain request's expected map, below SpiceDB's
// default 4 KiB limit of a request's caveat context; chains beyond it are
// confirmed in further groups of the same request.
const maxExpectedBytes = 3000

// chainRule is how one permission of an item follows from what holds on
// the item alone and on each folder above it: the schema's recursive
// permissions, unrolled along the chain.
type chainRule struct {
	// leaves are asked of every element of the chain.
	leaves []string
	// folderLeaves are asked of the folder elements only (the relation
	// exists on folders alone).
	folderLeaves []string
	eval         func(a chainAnswer) bool
	// subjectIsFolder: within, whose subject is the folder asked about;
	// answered from the confirmed chain alone.
	subjectIsFolder bool
	// only is set for a rule that is exactly "only holds somewhere on the
	// chain, and nothing on it is trashed": lookups walk such a rule's
	// subtrees without deciding each item's chain.
	only string
}

// chainAnswer reads one confirmed chain's answers.
type chainAnswer struct {
	chain []string
	got   func(perm, key string) bool
}

// any reports whether perm holds on an element of the chain from index from.
func (a chainAnswer) any(perm string, from int) bool {
	for _, k := range a.chain[from:] {
		if a.got(perm, k) {
			return true
		}
	}
	return false
}

func anyHolds(perm string) func(chainAnswer) bool {
	return func(a chainAnswer) bool { return a.any(perm, 0) }
}

// action is rule for an action: grant, unless the item or a folder above it
// is trashed.
func action(grant func(chainAnswer) bool, leaves ...string) chainRule {
	return chainRule{
		leaves: append(leaves, schema.RelationTrashed),
		eval:   func(a chainAnswer) bool { return grant(a) && !a.any(schema.RelationTrashed, 0) },
	}
}

// chainRules mirror schema.zed's folder and file permissions; the chain
// equivalence tests hold them to it on generated trees.
var chainRules = func() map[string]chainRule {
	moveOrDelete := action(func(a chainAnswer) bool {
		return a.got(schema.RelationOwner, a.chain[0]) || a.any(schema.HereManage, 1)
	}, schema.RelationOwner, schema.HereManage)
	invite := action(func(a chainAnswer) bool {
		return a.any(schema.HereFull, 0) || (a.any(schema.RoleEditor.Relation(), 0) && !a.any(schema.RelationInviteOff, 0))
	}, schema.HereFull, schema.RoleEditor.Relation())
	invite.folderLeaves = []string{schema.RelationInviteOff}
	simple := func(perm string) chainRule {
		r := action(anyHolds(perm), perm)
		r.only = perm
		return r
	}
	return map[string]chainRule{
		string(schema.ActionList):              simple(schema.HereVisible),
		string(schema.ActionPreview):           simple(schema.HerePreviewLink),
		string(schema.ActionDownload):          simple(schema.HereDownloadLink),
		string(schema.ActionUpload):            simple(schema.HereUpload),
		string(schema.ActionEdit):              simple(schema.HereEditLink),
		string(schema.ActionRename):            simple(schema.HereManage),
		string(schema.ActionSetShareAccess):    simple(schema.HereManage),
		string(schema.ActionDelete):            moveOrDelete,
		string(schema.ActionMove):              moveOrDelete,
		string(schema.ActionShare):             simple(schema.HereDownload),
		string(schema.ActionInvite):            invite,
		string(schema.ActionComment):           simple(schema.HerePreview),
		string(schema.ActionChangeSettings):    simple(schema.HereFull),
		string(schema.ActionTransferOwnership): simple(schema.RelationOwner),
		schema.PermissionVisible:               {leaves: []string{schema.HereVisible}, eval: anyHolds(schema.HereVisible)},
		schema.PermissionTrashed:               {leaves: []string{schema.RelationTrashed}, eval: anyHolds(schema.RelationTrashed)},
		schema.PermissionInviteRestricted:      {folderLeaves: []string{schema.RelationInviteOff}, eval: anyHolds(schema.RelationInviteOff)},
		schema.PermissionEnterpriseReach:       {leaves: []string{schema.HereReach}, eval: anyHolds(schema.HereReach)},
		schema.PermissionWithin:                {subjectIsFolder: true},
	}
}()

// chainRequest is one CheckBulkPermissions carrying chain checks beside
// items asked as they are.
type chainRequest struct {
	items []*v1.CheckBulkPermissionsRequestItem
	at    map[string]int // an item's key -> its index in items
	// placed is where each chain element's placement is asked, and
	// expected the parent it is confirmed against.
	placed   map[string]int
	expected map[string]string
	// expectedCtx is the current confirmation group's context, whose
	// expected map is about expectedSize bytes.
	expectedCtx  *structpb.Struct
	expectedSize int
	contexts     map[*structpb.Struct]string
}

func newChainRequest() *chainRequest {
	return &chainRequest{at: map[string]int{}, placed: map[string]int{}, expected: map[string]string{}, contexts: map[*structpb.Struct]string{}}
}

// ask adds an item unless the same one is already in the request, and
// returns its index.
func (r *chainRequest) ask(key string, it *v1.CheckBulkPermissionsRequestItem) int {
	if i, ok := r.at[key]; ok {
		return i
	}
	r.at[key] = len(r.items)
	r.items = append(r.items, it)
	return len(r.items) - 1
}

// contextID names a caveat context within the request, so two questions
// passing the same context share their items.
func (r *chainRequest) contextID(st *structpb.Struct) string {
	if id, ok := r.contexts[st]; ok {
		return id
	}
	id := strconv.Itoa(len(r.contexts))
	r.contexts[st] = id
	return id
}

// confirm adds the placements of chain to the request; false when the
// chain disagrees with one already in it (the tree changed in between), in
// which case the question is asked the recursive way.
func (r *chainRequest) confirm(chain []string) bool {
	for i, k := range chain {
		if p, ok := r.expected[k]; ok && p != parentIn(chain, i) {
			return false
		}
	}
	for i, k := range chain {
		if _, ok := r.placed[k]; ok {
			continue
		}
		parent := parentIn(chain, i)
		size := len(k) + len(parent) + 16
		if r.expectedCtx == nil || r.expectedSize+size > maxExpectedBytes {
			r.expectedSize = 0
			r.expectedCtx = &structpb.Struct{Fields: map[string]*structpb.Value{
				schema.PlacedUnderExpected: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{}}),
			}}
		}
		r.expectedSize += size
		r.expected[k] = parent
		r.expectedCtx.Fields[schema.PlacedUnderExpected].GetStructValue().Fields[k] = structpb.NewStringValue(parent)
		typ, id, _ := strings.Cut(k, ":")
		r.placed[k] = len(r.items)
		r.items = append(r.items, &v1.CheckBulkPermissionsRequestItem{
			Resource: rel.RawObject(typ, id), Permission: schema.RelationPlacement,
			Subject: UserSubject(""), Context: r.expectedCtx,
		})
	}
	return true
}

// parentIn is the key of chain[i]'s parent: the next element, "" above
// the top.
func parentIn(chain []string, i int) string {
	if i+1 < len(chain) {
		return chain[i+1]
	}
	return ""
}

// chainItem is one question of a call and how the request answers it.
type chainItem struct {
	// req is the request the question is in; pass is the index of the
	// question asked as it is there, or -1.
	req   int
	pass  int
	chain []string
	rule  chainRule
	// folder is within's subject.
	folder  string
	subject string
	ctxID   string
}

// leafKey names a leaf item of a chain question in the request.
func leafKey(perm, elem, subject, ctxID string) string {
	return perm + "|" + elem + "|" + subject + "|" + ctxID
}

// planChain turns items into requests: items the tree knows the chain of as
// chain checks, the rest as they are. Every chain check's items go in one
// request, so they are answered at one revision; a request stays within
// SpiceDB's bulk limit.
func (c *Checker) planChain(items []*v1.CheckBulkPermissionsRequestItem) ([]*chainRequest, []chainItem) {
	reqs := []*chainRequest{newChainRequest()}
	plan := make([]chainItem, len(items))
	for i, it := range items {
		r := reqs[len(reqs)-1]
		rule, chain, size := c.chainOf(it)
		if len(r.items)+size > maxBulk {
			r = newChainRequest()
			reqs = append(reqs, r)
		}
		if chain != nil && r.confirm(chain) {
			plan[i] = c.planOne(r, it, rule, chain)
		} else {
			r.items = append(r.items, it)
			plan[i] = chainItem{pass: len(r.items) - 1}
		}
		plan[i].req = len(reqs) - 1
	}
	return reqs, plan
}

// chainOf is how it goes as a chain check: its rule, its chain and how
// many items that adds; chain is nil when it goes as it is (one item).
func (c *Checker) chainOf(it *v1.CheckBulkPermissionsRequestItem) (chainRule, []string, int) {
	res, subj := it.GetResource(), it.GetSubject()
	rule, ok := chainRules[it.GetPermission()]
	if !ok || (res.GetObjectType() != schema.TypeFolder && res.GetObjectType() != schema.TypeFile) ||
		rule.subjectIsFolder != (subj.GetObject().GetObjectType() == schema.TypeFolder) || subj.GetOptionalRelation() != "" {
		return rule, nil, 1
	}
	chain, ok := c.tree.Chain(rel.PlacementKey(res.GetObjectType(), res.GetObjectId()))
	size := len(chain) * (len(rule.leaves) + len(rule.folderLeaves) + 1)
	if !ok || size > maxBulk {
		return rule, nil, 1
	}
	return rule, chain, size
}

// planOne adds the items of it's chain check to r, its chain confirmed.
func (c *Checker) planOne(r *chainRequest, it *v1.CheckBulkPermissionsRequestItem, rule chainRule, chain []string) chainItem {
	subj := it.GetSubject()
	ci := chainItem{pass: -1, chain: chain, rule: rule, subject: subj.GetObject().GetObjectType() + ":" + subj.GetObject().GetObjectId()}
	if rule.subjectIsFolder {
		ci.folder = rel.PlacementKey(schema.TypeFolder, subj.GetObject().GetObjectId())
		return ci
	}
	ci.ctxID = r.contextID(it.GetContext())
	for _, elem := range chain {
		typ, id, _ := strings.Cut(elem, ":")
		leaves := rule.leaves
		if typ == schema.TypeFolder {
			leaves = append(leaves[:len(leaves):len(leaves)], rule.folderLeaves...)
		}
		for _, perm := range leaves {
			r.ask(leafKey(perm, elem, ci.subject, ci.ctxID), &v1.CheckBulkPermissionsRequestItem{
				Resource: rel.RawObject(typ, id), Permission: perm, Subject: subj, Context: it.GetContext(),
			})
		}
	}
	return ci
}

// answer reads question ci's answer from the request's; confirmed is false
// when the chain is not where the tree said, and the question must be asked
// the recursive way.
func (r *chainRequest) answer(ci chainItem, got []bool) (allowed, confirmed bool) {
	if ci.pass >= 0 {
		return got[ci.pass], true
	}
	for _, k := range ci.chain {
		if !got[r.placed[k]] {
			return false, false
		}
	}
	if ci.rule.subjectIsFolder {
		for _, k := range ci.chain[1:] {
			if k == ci.folder {
				return true, true
			}
		}
		return false, true
	}
	a := chainAnswer{chain: ci.chain, got: func(perm, key string) bool {
		i, ok := r.at[leafKey(perm, key, ci.subject, ci.ctxID)]
		return ok && got[i]
	}}
	return ci.rule.eval(a), true
}
