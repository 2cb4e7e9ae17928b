package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	gosync "sync"
	"sync/atomic"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Codes of docs/model.md §7.
const (
	CodeInvalidToken       = "invalid_token"
	CodeAccessDenied       = "access_denied_insufficient_permissions"
	CodeInsufficientScope  = "insufficient_scope"
	CodeNotFound           = "not_found"
	CodeTrashed            = "trashed"
	permWithin             = schema.PermissionWithin
	permEnterpriseReach    = schema.PermissionEnterpriseReach
	permActAs              = schema.PermissionActAs
	grantKindAsUser        = "as_user"
	grantKindEnterpriseCnt = "enterprise_content"
)

// Reasons an authorization is refused before the graph is asked; the graph's
// own reasons are ReasonNoGrant, ReasonTrashed, ReasonActionNotInRole and
// ReasonInviteRestricted.
const (
	ReasonInvalidToken     = "invalid_token"       // no such access token
	ReasonExpiredToken     = "expired_token"       // past its expiry
	ReasonRevokedToken     = "revoked_token"       // revoked, its family or parent revoked, or its app ended
	ReasonAsUserNotAllowed = "as_user_not_allowed" // docs/model.md §8 refuses
	ReasonMissingScope     = "missing_scope"       // no scope of the token covers the action
	ReasonOutsideResource  = "outside_resource"    // a downscoped token's resource does not hold the item
)

// AuthorizeRequest is an end user's request: a token, an action and what it
// is on (an item, or for manage_users / manage_groups an enterprise or a
// group).
type AuthorizeRequest struct {
	Token      string
	AsUser     string
	Action     schema.Action
	Item       *schema.ItemRef
	Enterprise string
	Group      string
	SharedLink *schema.ItemRef
	Explain    bool
}

// Validate checks the request's fields and names the first bad one.
func (r AuthorizeRequest) Validate() error {
	if _, err := schema.ParseAction(string(r.Action)); err != nil {
		return &checker.FieldError{Field: "action", Err: err}
	}
	if r.AsUser != "" {
		if err := schema.ValidateID(r.AsUser); err != nil {
			return &checker.FieldError{Field: "As-User", Err: err}
		}
	}
	if r.SharedLink != nil {
		if err := r.SharedLink.Validate(); err != nil {
			return &checker.FieldError{Field: "shared_link", Err: err}
		}
	}
	switch r.Action {
	case schema.ActionManageUsers:
		if r.Item != nil || r.Group != "" || r.SharedLink != nil {
			return &checker.FieldError{Field: "action", Err: errors.New("manage_users is asked of an enterprise only")}
		}
		if r.Enterprise == "" {
			return &checker.FieldError{Field: "enterprise", Err: errors.New("required for manage_users")}
		}
		if err := schema.ValidateID(r.Enterprise); err != nil {
			return &checker.FieldError{Field: "enterprise", Err: err}
		}
	case schema.ActionManageGroups:
		if r.Item != nil || r.SharedLink != nil {
			return &checker.FieldError{Field: "action", Err: errors.New("manage_groups is asked of an enterprise or a group")}
		}
		if (r.Enterprise == "") == (r.Group == "") {
			return &checker.FieldError{Field: "group", Err: errors.New("manage_groups needs exactly one of enterprise and group")}
		}
		for f, v := range map[string]string{"enterprise": r.Enterprise, "group": r.Group} {
			if v != "" {
				if err := schema.ValidateID(v); err != nil {
					return &checker.FieldError{Field: f, Err: err}
				}
			}
		}
	default:
		if r.Enterprise != "" || r.Group != "" {
			return &checker.FieldError{Field: "action", Err: fmt.Errorf("%s is asked of an item, not an enterprise or group", r.Action)}
		}
		if r.Item == nil {
			return &checker.FieldError{Field: "item", Err: errors.New("required")}
		}
		if err := r.Item.Validate(); err != nil {
			return &checker.FieldError{Field: "item", Err: err}
		}
	}
	return nil
}

// Decision is the outcome of docs/model.md §7: the status and code the request
// gets, and the user it acted as.
type Decision struct {
	Allowed     bool                 `json:"allowed"`
	Status      int                  `json:"status"`
	Code        string               `json:"code"`
	User        string               `json:"user"`
	Explanation *checker.Explanation `json:"explanation,omitempty"`
}

func deny(status int, code, user, reason string, explain bool) Decision {
	d := Decision{Status: status, Code: code, User: user}
	if explain {
		d.Explanation = &checker.Explanation{Reason: reason}
	}
	return d
}

// Authorizer decides end-user requests: tokens and scopes (Tokens) combined
// with graph checks (Checker).
type Authorizer struct {
	graph  *checker.Checker
	tokens *Tokens
	// inflight counts decisions under way, to choose how to ask SpiceDB
	// (see ask); oneRequest makes ask always choose one CheckBulk (tests).
	inflight   atomic.Int64
	oneRequest bool
}

// NewAuthorizer combines a checker and token storage on the same SpiceDB.
func NewAuthorizer(c *checker.Checker, t *Tokens) *Authorizer {
	return &Authorizer{graph: c, tokens: t}
}

// Tokens is the token storage the authorizer uses.
func (a *Authorizer) Tokens() *Tokens { return a.tokens }

// plan is the questions of one decision, asked of SpiceDB in one
// CheckBulkPermissions, and where each answer sits.
type plan struct {
	items []*v1.CheckBulkPermissionsRequestItem
	at    map[string]int
}

func (p *plan) ask(name string, it *v1.CheckBulkPermissionsRequestItem) {
	p.at[name] = len(p.items)
	p.items = append(p.items, it)
}

// Authorize decides r in docs/model.md §7's order. An allowed request is one
// round trip to SpiceDB, fully consistent: the token still valid, As-User,
// the resource and the action (see ask for how they are sent). With the
// revocation watch running (Tokens.WatchRevocations), a token it vouches
// for is not asked about; the watch confirms it instead. A denied action
// takes a second round trip, for the item's visibility and trash, to say
// which row denies it. The token's immutable description is cached after
// its first use on this replica.
func (a *Authorizer) Authorize(ctx context.Context, r AuthorizeRequest) (Decision, error) {
	if err := r.Validate(); err != nil {
		return Decision{}, err
	}
	tok, ok, err := a.tokens.Lookup(ctx, r.Token)
	if err != nil {
		return Decision{}, err
	}
	if !ok {
		return deny(http.StatusUnauthorized, CodeInvalidToken, "", ReasonInvalidToken, r.Explain), nil
	}
	now := a.graph.Now()
	if !now.Before(tok.Expires) {
		return deny(http.StatusUnauthorized, CodeInvalidToken, "", ReasonExpiredToken, r.Explain), nil
	}
	acting := tok.User
	asUser := r.AsUser != "" && r.AsUser != tok.User
	if asUser {
		acting = r.AsUser
	}
	ctxStruct := a.graph.CaveatContext(r.SharedLink)
	// A token the revocation watch vouches for leaves its validity question
	// out; SettleValid then proves the answer at the revisions of the rest.
	vouched := a.tokens.VouchesFor(tok.ID, now)
	p := firstPlan(r, tok, acting, vouched, ctxStruct)
	got, at, err := a.ask(ctx, p.items)
	if err != nil {
		return Decision{}, fmt.Errorf("authorizing %s for token %s: %w", r.Action, short(tok.ID), err)
	}
	ans := func(name string) bool { i, ok := p.at[name]; return ok && got[i] }
	valid, err := a.tokens.SettleValid(ctx, tok.ID, vouched, ans("valid"), at, now)
	if err != nil {
		return Decision{}, fmt.Errorf("authorizing %s for token %s: %w", r.Action, short(tok.ID), err)
	}
	if d, done := tokenRows(r, tok, acting, valid, ans); done {
		return d, nil
	}

	// 5-8: the item. An action that holds implies the item visible and not
	// trashed (the schema's visible covers every action's grants, and every
	// action excludes trash), so the common answer is complete here; a
	// denied action asks which row denies it.
	d := Decision{Allowed: true, Status: http.StatusOK, User: acting}
	reach := false
	if !ans(string(r.Action)) {
		if d, reach, err = a.whyDenied(ctx, r, tok, acting, ctxStruct); err != nil {
			return Decision{}, err
		}
	}
	if r.Explain {
		ex, err := a.explainItem(ctx, r, acting, asUser, reach, d)
		if err != nil {
			return Decision{}, err
		}
		d.Explanation = ex
	}
	return d, nil
}

// firstPlan is a decision's first round trip: the token still valid
// (unless vouched for), As-User, the resource and the action.
func firstPlan(r AuthorizeRequest, tok AccessToken, acting string, vouched bool, ctxStruct *structpb.Struct) *plan {
	p := &plan{at: map[string]int{}}
	if !vouched {
		p.ask("valid", validItem(tok.ID))
	}
	if acting != tok.User {
		p.ask("app_as_user", &v1.CheckBulkPermissionsRequestItem{Resource: rel.RawObject(typeAccessToken, tok.ID), Permission: permMayActAsUsers, Subject: flagOnSubject()})
		p.ask("act_as", &v1.CheckBulkPermissionsRequestItem{
			Resource: rel.Object(schema.TypeUser, acting), Permission: permActAs,
			Subject: checker.UserSubject(tok.User), Context: ctxStruct,
		})
	}
	if r.Item != nil {
		if tok.Resource != nil && *tok.Resource != *r.Item && tok.Resource.Type == schema.TypeFolder {
			p.ask("within", &v1.CheckBulkPermissionsRequestItem{
				Resource: checker.ItemObject(*r.Item), Permission: permWithin,
				Subject: rel.Subject(schema.TypeFolder, tok.Resource.ID, ""),
			})
		}
		p.ask(string(r.Action), &v1.CheckBulkPermissionsRequestItem{Resource: checker.ItemObject(*r.Item), Permission: string(r.Action), Subject: checker.UserSubject(acting), Context: ctxStruct})
		return p
	}
	res := rel.Object(schema.TypeEnterprise, r.Enterprise)
	if r.Group != "" {
		res = rel.Object(schema.TypeGroup, r.Group)
	}
	p.ask(string(r.Action), &v1.CheckBulkPermissionsRequestItem{Resource: res, Permission: string(r.Action), Subject: checker.UserSubject(acting), Context: ctxStruct})
	return p
}

// tokenRows decides docs/model.md §7 rows 1-4 (the token, As-User, scope,
// resource) from the first round trip's answers, and a request of an
// enterprise or group whole; done is false when the item's rows remain.
func tokenRows(r AuthorizeRequest, tok AccessToken, acting string, valid bool, ans func(string) bool) (d Decision, done bool) {
	asUser := acting != tok.User
	if !valid {
		return deny(http.StatusUnauthorized, CodeInvalidToken, "", ReasonRevokedToken, r.Explain), true
	}
	if asUser && !(ans("app_as_user") && ans("act_as")) {
		return deny(http.StatusForbidden, CodeAccessDenied, tok.User, ReasonAsUserNotAllowed, r.Explain), true
	}
	if !Covers(tok.Scopes, r.Action) {
		return deny(http.StatusForbidden, CodeInsufficientScope, acting, ReasonMissingScope, r.Explain), true
	}
	if tok.Resource != nil {
		inside := r.Item != nil && (*tok.Resource == *r.Item || ans("within"))
		if !inside {
			return deny(http.StatusNotFound, CodeNotFound, acting, ReasonOutsideResource, r.Explain), true
		}
	}
	if r.Item != nil {
		return Decision{}, false
	}
	if !ans(string(r.Action)) {
		return deny(http.StatusForbidden, CodeAccessDenied, acting, checker.ReasonNoGrant, r.Explain), true
	}
	d = Decision{Allowed: true, Status: http.StatusOK, User: acting}
	if r.Explain {
		d.Explanation = &checker.Explanation{Allowed: true}
		if asUser {
			d.Explanation.Grants = append(d.Explanation.Grants, checker.Grant{Kind: grantKindAsUser})
		}
	}
	return d, true
}

// ask asks a decision's items. With a CPU to spare per decision under way,
// the action goes as its own CheckPermission alongside the rest: lower
// latency, since two requests in flight together take one round trip and a
// CheckPermission costs less than CheckBulkPermissions. With more decisions
// under way than CPUs, the second request only takes CPU from the others,
// so everything goes in one CheckBulkPermissions, the cheapest per decision
// (BenchmarkAuthorizeVsRaw and BenchmarkAuthorizeThroughput measure both).
// It returns the revisions the answers were given at, the request holding
// the first item first.
func (a *Authorizer) ask(ctx context.Context, items []*v1.CheckBulkPermissionsRequestItem) ([]bool, []*v1.ZedToken, error) {
	n := a.inflight.Add(1)
	defer a.inflight.Add(-1)
	if !a.oneRequest && n <= int64(runtime.GOMAXPROCS(0)) {
		return a.checkAlongside(ctx, items)
	}
	got, at, err := a.graph.CheckItems(ctx, items, checker.Consistency{})
	return got, []*v1.ZedToken{at}, err
}

// checkAlongside asks items fully consistent, the last one as its own
// CheckPermission at the same time as the others: two requests in flight
// together take one round trip of wall time, and a CheckBulkPermissions
// costs more per request than a CheckPermission of the same question
// (BenchmarkRequestShapes: 1.2x on PostgreSQL, 1.5x in memory). The two
// requests may be answered at different revisions, each taken after the
// call began: every answer held at some moment during the call. It returns
// the revisions, the first request's (all items but the last) first.
func (a *Authorizer) checkAlongside(ctx context.Context, items []*v1.CheckBulkPermissionsRequestItem) ([]bool, []*v1.ZedToken, error) {
	n := len(items) - 1
	if n == 0 {
		out, at, err := a.graph.CheckItems(ctx, items, checker.Consistency{})
		return out, []*v1.ZedToken{at}, err
	}
	var (
		last    []bool
		lastAt  *v1.ZedToken
		lastErr error
		wg      gosync.WaitGroup
	)
	wg.Go(func() { last, lastAt, lastErr = a.graph.CheckItems(ctx, items[n:], checker.Consistency{}) })
	rest, at, err := a.graph.CheckItems(ctx, items[:n], checker.Consistency{})
	wg.Wait()
	if err := errors.Join(err, lastErr); err != nil {
		return nil, nil, err
	}
	return append(rest, last...), []*v1.ZedToken{at, lastAt}, nil
}

// whyDenied decides docs/model.md §7 rows 5-8 for an action SpiceDB denied: not
// visible (404 not_found), trashed (404 trashed) or not in the role (403),
// unless enterprise_content reaches the item (docs/model.md §5).
func (a *Authorizer) whyDenied(ctx context.Context, r AuthorizeRequest, tok AccessToken, acting string, ctxStruct *structpb.Struct) (d Decision, reach bool, err error) {
	p := &plan{at: map[string]int{}}
	for _, perm := range []string{schema.PermissionVisible, schema.PermissionTrashed} {
		p.ask(perm, &v1.CheckBulkPermissionsRequestItem{Resource: checker.ItemObject(*r.Item), Permission: perm, Subject: checker.UserSubject(acting), Context: ctxStruct})
	}
	if slices.Contains(tok.Scopes, ScopeEnterpriseContent) && reachActions[r.Action] {
		p.ask("reach", &v1.CheckBulkPermissionsRequestItem{Resource: checker.ItemObject(*r.Item), Permission: permEnterpriseReach, Subject: checker.UserSubject(acting), Context: ctxStruct})
	}
	got, _, err := a.graph.CheckItems(ctx, p.items, checker.Consistency{})
	if err != nil {
		return Decision{}, false, fmt.Errorf("authorizing %s for token %s: %w", r.Action, short(tok.ID), err)
	}
	ans := func(name string) bool { i, ok := p.at[name]; return ok && got[i] }
	reach = ans("reach")
	switch {
	case !ans(schema.PermissionVisible) && !reach:
		d = deny(http.StatusNotFound, CodeNotFound, acting, checker.ReasonNoGrant, false)
	case ans(schema.PermissionTrashed):
		d = deny(http.StatusNotFound, CodeTrashed, acting, checker.ReasonTrashed, false)
	case !reach:
		d = deny(http.StatusForbidden, CodeAccessDenied, acting, checker.ReasonActionNotInRole, false)
	default:
		d = Decision{Allowed: true, Status: http.StatusOK, User: acting}
	}
	return d, reach, nil
}

// reachActions are what enterprise_content lets an admin do (docs/model.md §5).
var reachActions = map[schema.Action]bool{schema.ActionList: true, schema.ActionPreview: true, schema.ActionDownload: true}

func (a *Authorizer) explainItem(ctx context.Context, r AuthorizeRequest, acting string, asUser, reach bool, d Decision) (*checker.Explanation, error) {
	ex, err := a.graph.Explain(ctx, checker.Question{User: acting, Action: r.Action, Item: *r.Item, SharedLink: r.SharedLink}, checker.Consistency{})
	if err != nil {
		return nil, fmt.Errorf("explaining %s on %s: %w", r.Action, r.Item, err)
	}
	ex.Allowed = d.Allowed
	switch d.Code {
	case CodeNotFound:
		ex.Reason, ex.Grants = checker.ReasonNoGrant, nil
	case CodeTrashed:
		ex.Reason = checker.ReasonTrashed
	case "":
		ex.Reason = ""
		if reach && len(ex.Grants) == 0 {
			ex.Grants = append(ex.Grants, checker.Grant{Kind: grantKindEnterpriseCnt, On: *r.Item})
		}
	}
	if asUser {
		ex.Grants = append([]checker.Grant{{Kind: grantKindAsUser}}, ex.Grants...)
	}
	return &ex, nil
}

// UserInfo is GET /2.0/users/me's answer.
type UserInfo struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Enterprise string `json:"enterprise,omitempty"`
	Role       string `json:"role"`
}

// Me returns the acting user of a token (As-User applied), or the decision
// refusing it (401 or 403).
func (a *Authorizer) Me(ctx context.Context, token, asUserID string) (UserInfo, Decision, error) {
	if asUserID != "" {
		if err := schema.ValidateID(asUserID); err != nil {
			return UserInfo{}, Decision{}, &checker.FieldError{Field: "As-User", Err: err}
		}
	}
	tok, ok, err := a.tokens.Lookup(ctx, token)
	if err != nil {
		return UserInfo{}, Decision{}, err
	}
	if !ok || !a.graph.Now().Before(tok.Expires) {
		return UserInfo{}, deny(http.StatusUnauthorized, CodeInvalidToken, "", "", false), nil
	}
	acting := tok.User
	asUser := asUserID != "" && asUserID != tok.User
	p := &plan{at: map[string]int{}}
	p.ask("valid", validItem(tok.ID))
	if asUser {
		acting = asUserID
		p.ask("app_as_user", &v1.CheckBulkPermissionsRequestItem{Resource: rel.RawObject(typeAccessToken, tok.ID), Permission: permMayActAsUsers, Subject: flagOnSubject()})
		p.ask("act_as", &v1.CheckBulkPermissionsRequestItem{
			Resource: rel.Object(schema.TypeUser, acting), Permission: permActAs,
			Subject: checker.UserSubject(tok.User), Context: a.graph.CaveatContext(nil),
		})
	}
	got, _, err := a.graph.CheckItems(ctx, p.items, checker.Consistency{})
	if err != nil {
		return UserInfo{}, Decision{}, err
	}
	if !got[0] {
		return UserInfo{}, deny(http.StatusUnauthorized, CodeInvalidToken, "", "", false), nil
	}
	if asUser && !(got[p.at["app_as_user"]] && got[p.at["act_as"]]) {
		return UserInfo{}, deny(http.StatusForbidden, CodeAccessDenied, tok.User, "", false), nil
	}
	u, err := a.tokens.User(ctx, acting)
	if err != nil {
		return UserInfo{}, Decision{}, err
	}
	return u, Decision{Allowed: true, Status: http.StatusOK, User: acting}, nil
}
