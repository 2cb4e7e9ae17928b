package schema

// Every SpiceDB object type, relation, permission and caveat name boxauthz
// writes or asks, beyond the model's types, roles and actions (model.go),
// defined once here; TestNamesAreInTheSchema holds each to schema.zed.

// Object types of boxauthz's bookkeeping and tokens.
const (
	// TypeEvent remembers an applied event id (sync's dedup window).
	TypeEvent = "boxauthz_event"
	// TypeSource holds a streaming source's committed position.
	TypeSource = "boxauthz_source"
	// TypeFlag is the one subject type every flag names.
	TypeFlag = "boxauthz_flag"
	// TypeScope is an OAuth scope a token or application holds.
	TypeScope        = "boxauthz_scope"
	TypeApp          = "boxauthz_app"
	TypeAppGrant     = "boxauthz_app_grant"
	TypeTokenFamily  = "boxauthz_token_family"  //nolint:gosec // G101: an object type's name, not a credential
	TypeAccessToken  = "boxauthz_access_token"  //nolint:gosec // G101: an object type's name, not a credential
	TypeRefreshToken = "boxauthz_refresh_token" //nolint:gosec // G101: an object type's name, not a credential
	// TypeUserSession is a user's token session.
	TypeUserSession  = "boxauthz_user_session"
	TypeClientSecret = "boxauthz_client_secret" //nolint:gosec // G101: an object type's name, not a credential
	TypeSealedPair   = "boxauthz_sealed_pair"
)

// FlagOn is the one flag object: a flag is on while a relationship to
// boxauthz_flag:on exists.
const FlagOn = "on"

// Relations of the model's objects.
const (
	RelationExists                  = "exists"
	RelationParent                  = "parent"
	RelationOwner                   = "owner"
	RelationTrashed                 = "trashed"
	RelationInviteOff               = "non_owners_invite_off"
	RelationCollaborationRestricted = "collaboration_restricted"
	RelationItem                    = "item"
	RelationAccessibleBy            = "accessible_by"
	// RelationPending and RelationExpiry on a collaboration record its
	// status and end, for explanations only: the role relationship on the
	// item is what grants.
	RelationPending        = "pending"
	RelationExpiry         = "expiry"
	RelationEnterprise     = "enterprise"
	RelationMember         = "member"
	RelationAdmin          = "admin"
	RelationCoadmin        = "coadmin"
	RelationPrivileged     = "privileged"
	RelationServiceAccount = "service_account"
	RelationMembership     = "membership"
	// The shared-link flags of an item: the link's access (open or
	// company) and what it allows.
	RelationLinkView            = "link_view"
	RelationLinkDownload        = "link_download"
	RelationLinkEdit            = "link_edit"
	RelationCompanyLinkView     = "company_link_view"
	RelationCompanyLinkDownload = "company_link_download"
	RelationCompanyLinkEdit     = "company_link_edit"
	// RelationTokenSession on a user names its current token session.
	RelationTokenSession = "token_session"
	// RelationPlacement records an item's parent a second time, under the
	// caveat placed_under, so that a chain check can confirm in the same
	// request the ancestor chain it asks about.
	RelationPlacement = "placement"
)

// Relations of the bookkeeping and token objects.
const (
	RelationApplied  = "applied"
	RelationPosition = "position"
	// RelationLease on a source names a writer holding it, until it expires.
	RelationLease = "lease"
	// RelationLive is the flag of an application, a grant's app and a
	// token session.
	RelationLive = "live"
	// RelationAlive is the flag of a token and a token family.
	RelationAlive        = "alive"
	RelationRoot         = "root"
	RelationFamily       = "family"
	RelationGrant        = "grant"
	RelationSession      = "session"
	RelationUser         = "user"
	RelationScope        = "scope"
	RelationResource     = "resource"
	RelationRefresh      = "refresh"
	RelationAccess       = "access"
	RelationUnspent      = "unspent"
	RelationApp          = "app"
	RelationAuthorized   = "authorized"
	RelationAsUser       = "as_user"
	RelationClientSecret = "client_secret"
	RelationSuccessor    = "successor"
)

// Permissions besides the actions.
const (
	// PermissionVisible is list before trash: the checker tells an item with no
	// grant from a trashed one with it.
	PermissionVisible = "visible"
	// PermissionTrashed holds for everyone while the item or an ancestor is in
	// the trash.
	PermissionTrashed = "trashed_any"
	// PermissionInviteRestricted holds while an invite setting of the item
	// or an ancestor turns invites off (explanations).
	PermissionInviteRestricted = "invite_restricted_any"
	// PermissionEnterpriseReach is who reaches the item with the
	// enterprise_content scope.
	PermissionEnterpriseReach = "enterprise_reach"
	// PermissionActAs on a user is who may act as that user.
	PermissionActAs = "act_as"
	// PermissionWithin on an item holds for the items of its subtree
	// (a downscoped token's resource).
	PermissionWithin = "within"
	// PermissionValid on a token: it may be used now.
	PermissionValid = "valid"
	// PermissionMayActAsUsers on an access token: its app may use As-User.
	PermissionMayActAsUsers = "may_act_as_users"
)

// Holder sets and link grants of one item alone, without its ancestors: a
// chain check asks them of an item and each of its ancestors in one request.
const (
	HereAll          = "h_all"
	HerePreview      = "h_preview"
	HereDownload     = "h_download"
	HereUpload       = "h_upload"
	HereEdit         = "h_edit"
	HereManage       = "h_manage"
	HereFull         = "h_full"
	HereVisible      = "visible_here"
	HerePreviewLink  = "preview_here"
	HereDownloadLink = "download_here"
	HereEditLink     = "edit_here"
	HereReach        = "reach_here"
)

// Caveats.
const (
	CaveatNotExpired = "not_expired"
	CaveatSharedLink = "shared_link"
	// CaveatPlacedUnder is a placement's caveat; its parameters follow.
	CaveatPlacedUnder   = "placed_under"
	PlacedUnderSelf     = "self"
	PlacedUnderParent   = "parent"
	PlacedUnderExpected = "expected"
)
