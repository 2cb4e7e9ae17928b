package sync

import (
	"time"

	"github.com/boxauthz/boxauthz/schema"
)

// Relation names the applier writes, short for their schema names.
const (
	relExists        = schema.RelationExists
	relParent        = schema.RelationParent
	relPlacement     = schema.RelationPlacement
	relOwner         = schema.RelationOwner
	relTrashed       = schema.RelationTrashed
	relInviteOff     = schema.RelationInviteOff
	relCollabRestr   = schema.RelationCollaborationRestricted
	relItem          = schema.RelationItem
	relAccessibleBy  = schema.RelationAccessibleBy
	relPending       = schema.RelationPending
	relExpiry        = schema.RelationExpiry
	relEnterprise    = schema.RelationEnterprise
	relMember        = schema.RelationMember
	relAdmin         = schema.RelationAdmin
	relCoadmin       = schema.RelationCoadmin
	relPrivileged    = schema.RelationPrivileged
	relServiceAcct   = schema.RelationServiceAccount
	relMembership    = schema.RelationMembership
	relApplied       = schema.RelationApplied
	typeEvent        = schema.TypeEvent
	caveatNotExpired = schema.CaveatNotExpired
	caveatLink       = schema.CaveatSharedLink
)

// neverUnshared stands for "no unshared_at" in the shared_link caveat.
var neverUnshared = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// linkRelations are every relation a shared link may write on an item.
var linkRelations = []string{
	schema.RelationLinkView, schema.RelationLinkDownload, schema.RelationLinkEdit,
	schema.RelationCompanyLinkView, schema.RelationCompanyLinkDownload, schema.RelationCompanyLinkEdit,
}

// ModelTypes are the object types whose relationships mirror content; the
// applier's own bookkeeping (applied events, positions) is apart.
func ModelTypes() []string {
	return []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration}
}
