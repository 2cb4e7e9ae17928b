package oauth

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/boxauthz/boxauthz/schema"
)

// Scope is an application or token scope (docs/model.md §6).
type Scope string

// The scopes of docs/model.md §6.
const (
	ScopeRootReadonly               Scope = "root_readonly"
	ScopeRootReadwrite              Scope = "root_readwrite"
	ScopeManageManagedUsers         Scope = "manage_managed_users"
	ScopeManageGroups               Scope = "manage_groups"
	ScopeManageEnterpriseProperties Scope = "manage_enterprise_properties"
	ScopeManageWebhook              Scope = "manage_webhook"
	ScopeEnterpriseContent          Scope = "enterprise_content"
	ScopeItemPreview                Scope = "item_preview"
	ScopeItemDownload               Scope = "item_download"
	ScopeItemUpload                 Scope = "item_upload"
	ScopeItemRename                 Scope = "item_rename"
	ScopeItemDelete                 Scope = "item_delete"
	ScopeItemShare                  Scope = "item_share"
	ScopeItemComment                Scope = "item_comment"
	ScopeBaseExplorer               Scope = "base_explorer"
	ScopeBasePreview                Scope = "base_preview"
	ScopeBaseUpload                 Scope = "base_upload"
	ScopeBasePicker                 Scope = "base_picker"
)

// AllScopes lists every scope boxauthz knows, in docs/model.md's order.
func AllScopes() []Scope {
	return []Scope{
		ScopeRootReadonly, ScopeRootReadwrite, ScopeManageManagedUsers, ScopeManageGroups,
		ScopeManageEnterpriseProperties, ScopeManageWebhook, ScopeEnterpriseContent,
		ScopeItemPreview, ScopeItemDownload, ScopeItemUpload, ScopeItemRename, ScopeItemDelete,
		ScopeItemShare, ScopeItemComment, ScopeBaseExplorer, ScopeBasePreview, ScopeBaseUpload, ScopeBasePicker,
	}
}

// IsDownscope reports whether s is one of the downscope scopes (item_*,
// base_*), which an exchange may derive from broader ones.
func (s Scope) IsDownscope() bool {
	return strings.HasPrefix(string(s), "item_") || strings.HasPrefix(string(s), "base_")
}

// ParseScope reads a known scope string.
func ParseScope(s string) (Scope, error) {
	if slices.Contains(AllScopes(), Scope(s)) {
		return Scope(s), nil
	}
	return "", fmt.Errorf("unknown scope %q", s)
}

// ParseScopes reads a list of scope strings, refusing unknown ones and
// dropping repeats; the result is sorted.
func ParseScopes(ss []string) ([]Scope, error) {
	seen := map[Scope]bool{}
	out := []Scope{}
	for _, s := range ss {
		sc, err := ParseScope(s)
		if err != nil {
			return nil, err
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// actionScopes is docs/model.md §6's table: the scopes any one of which lets a
// token ask for an action.
var actionScopes = map[schema.Action][]Scope{
	schema.ActionList:              {ScopeRootReadonly, ScopeRootReadwrite, ScopeBaseExplorer, ScopeBasePicker, ScopeItemPreview},
	schema.ActionPreview:           {ScopeRootReadonly, ScopeRootReadwrite, ScopeItemPreview, ScopeBasePreview},
	schema.ActionDownload:          {ScopeRootReadonly, ScopeRootReadwrite, ScopeItemDownload},
	schema.ActionComment:           {ScopeRootReadwrite, ScopeItemComment},
	schema.ActionUpload:            {ScopeRootReadwrite, ScopeItemUpload, ScopeBaseUpload},
	schema.ActionEdit:              {ScopeRootReadwrite, ScopeItemUpload},
	schema.ActionRename:            {ScopeRootReadwrite, ScopeItemRename},
	schema.ActionDelete:            {ScopeRootReadwrite, ScopeItemDelete},
	schema.ActionMove:              {ScopeRootReadwrite, ScopeItemDelete},
	schema.ActionShare:             {ScopeRootReadwrite, ScopeItemShare},
	schema.ActionSetShareAccess:    {ScopeRootReadwrite, ScopeItemShare},
	schema.ActionInvite:            {ScopeRootReadwrite, ScopeItemShare},
	schema.ActionChangeSettings:    {ScopeRootReadwrite},
	schema.ActionTransferOwnership: {ScopeRootReadwrite},
	schema.ActionManageUsers:       {ScopeManageManagedUsers},
	schema.ActionManageGroups:      {ScopeManageGroups},
}

// ScopesFor returns the scopes any one of which covers action.
func ScopesFor(a schema.Action) []Scope { return slices.Clone(actionScopes[a]) }

// Covers reports whether any of scopes lets a token ask for action.
func Covers(scopes []Scope, a schema.Action) bool {
	for _, s := range actionScopes[a] {
		if slices.Contains(scopes, s) {
			return true
		}
	}
	return false
}

// actionsOf returns the actions whose row in the table names s.
func actionsOf(s Scope) []schema.Action {
	var out []schema.Action
	for a, ss := range actionScopes {
		if slices.Contains(ss, s) {
			out = append(out, a)
		}
	}
	return out
}

// MayDownscopeTo reports whether a token holding parent may exchange for a
// token holding s: parent holds s, or s is a downscope scope every action
// of which parent already covers (docs/model.md §6). The rule is derived from the
// action table, so root_readwrite covers every downscope scope and
// root_readonly exactly item_preview, item_download and the base_ scopes
// other than base_upload.
func MayDownscopeTo(parent []Scope, s Scope) bool {
	if slices.Contains(parent, s) {
		return true
	}
	if !s.IsDownscope() {
		return false
	}
	acts := actionsOf(s)
	if len(acts) == 0 {
		return false
	}
	for _, a := range acts {
		if !Covers(parent, a) {
			return false
		}
	}
	return true
}
