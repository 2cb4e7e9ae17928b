package synth

// CommonActions are the item actions the naive schema defines, with the
// real schema's meaning: the actions every schema shape can be asked.
var CommonActions = []string{"list", "preview", "download", "edit", "delete"}

// NaiveSchema is the naive nested shape: each capability includes the next
// more capable one, and every one of them walks the parent chain on its own.
// It keeps every relation of the real schema (so the same relationships load)
// and defines only the actions in CommonActions, with the real schema's
// meaning (docs/model.md §2-§4).
const NaiveSchema = `use expiration

caveat not_expired(now timestamp, expires_at timestamp) {
	now < expires_at
}

caveat shared_link(now timestamp, unshared_at timestamp, link string, presented_link string) {
	presented_link == link && now < unshared_at
}

definition user {
	relation enterprise: enterprise
	relation service_account: user:*
	relation privileged: user:*

	permission colleague = enterprise->member
	permission content_admin = enterprise->view_content
}

definition enterprise {
	relation member: user
	relation admin: user
	relation coadmin: user
	relation coadmin_manage_users: user
	relation coadmin_manage_groups: user
	relation coadmin_view_content: user
	relation coadmin_edit_content: user

	permission view_content = admin + coadmin_view_content
}

definition group {
	relation enterprise: enterprise
	relation member: user
	relation admin: user

	permission membership = member + admin
}

definition collaboration {
	relation item: folder | file
	relation accessible_by: user | group
}

definition folder {
	relation parent: folder
	relation owner: user

	relation co_owner: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration
	relation editor: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration
	relation viewer_uploader: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration
	relation previewer_uploader: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration
	relation viewer: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration
	relation previewer: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration
	relation uploader: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration

	relation trashed: user:*
	relation non_owners_invite_off: user:*
	relation collaboration_restricted: user:*

	relation link_view: user:* with shared_link
	relation link_download: user:* with shared_link
	relation company_link_view: user:* with shared_link
	relation company_link_download: user:* with shared_link

	// Nested: manage ⊂ edit ⊂ download ⊂ preview ⊂ list, each walking parents.
	permission n_manage = owner + co_owner + editor + parent->n_manage
	permission n_edit = n_manage + viewer_uploader + parent->n_edit
	permission n_download = n_edit + viewer + parent->n_download
	permission n_preview = n_download + previewer_uploader + previewer + parent->n_preview
	permission n_list = n_preview + uploader + parent->n_list

	permission n_link_view = link_view + (company_link_view & owner->colleague) + parent->n_link_view
	permission n_link_download = link_download + (company_link_download & owner->colleague) + parent->n_link_download
	permission n_trashed = trashed + parent->n_trashed

	permission list = (n_list + n_link_view) - n_trashed
	permission preview = (n_preview + n_link_view) - n_trashed
	permission download = (n_download + n_link_download) - n_trashed
	permission edit = n_edit - n_trashed
	permission delete = (owner + parent->n_manage) - n_trashed
}

definition file {
	relation parent: folder
	relation owner: user

	relation editor: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration
	relation viewer: user | user with not_expired and expiration | group#membership | group#membership with not_expired and expiration

	relation trashed: user:*

	relation link_view: user:* with shared_link
	relation link_download: user:* with shared_link
	relation link_edit: user:* with shared_link
	relation company_link_view: user:* with shared_link
	relation company_link_download: user:* with shared_link
	relation company_link_edit: user:* with shared_link

	permission n_manage = owner + editor + parent->n_manage
	permission n_edit = n_manage + parent->n_edit
	permission n_download = n_edit + viewer + parent->n_download
	permission n_preview = n_download + parent->n_preview
	permission n_list = n_preview + parent->n_list

	permission n_link_view = link_view + (company_link_view & owner->colleague) + parent->n_link_view
	permission n_link_download = link_download + (company_link_download & owner->colleague) + parent->n_link_download
	permission n_link_edit = link_edit + (company_link_edit & owner->colleague)
	permission n_trashed = trashed + parent->n_trashed

	permission list = (n_list + n_link_view) - n_trashed
	permission preview = (n_preview + n_link_view) - n_trashed
	permission download = (n_download + n_link_download) - n_trashed
	permission edit = (n_edit + n_link_edit) - n_trashed
	permission delete = (owner + parent->n_manage) - n_trashed
}
`
