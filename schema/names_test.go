package schema

import (
	"regexp"
	"testing"
)

// TestNamesAreInTheSchema: every name of names.go is what schema.zed
// defines where boxauthz uses it, so a rename in one is caught in the other.
func TestNamesAreInTheSchema(t *testing.T) {
	defs := map[string]map[string]bool{}
	caveats := map[string]bool{}
	var cur string
	line := regexp.MustCompile(`^\s*(definition|caveat|relation|permission)\s+([a-z_]+)`)
	for _, m := range regexp.MustCompile(`(?m)^.*$`).FindAllString(Text(), -1) {
		f := line.FindStringSubmatch(m)
		if f == nil {
			continue
		}
		switch f[1] {
		case "definition":
			cur = f[2]
			defs[cur] = map[string]bool{}
		case "caveat":
			caveats[f[2]] = true
		default:
			defs[cur][f[2]] = true
		}
	}
	uses := []struct{ def, name string }{
		{TypeUser, RelationExists},
		{TypeFolder, RelationLinkView},
		{TypeFolder, RelationLinkDownload},
		{TypeFile, RelationLinkEdit},
		{TypeFolder, RelationCompanyLinkView},
		{TypeFolder, RelationCompanyLinkDownload},
		{TypeFile, RelationCompanyLinkEdit},
		{TypeUser, RelationEnterprise},
		{TypeUser, RelationServiceAccount},
		{TypeUser, RelationTokenSession},
		{TypeUser, PermissionActAs},
		{TypeEnterprise, RelationMember},
		{TypeEnterprise, RelationAdmin},
		{TypeEnterprise, RelationCoadmin},
		{TypeUser, RelationPrivileged},
		{TypeGroup, RelationEnterprise},
		{TypeGroup, RelationMember},
		{TypeGroup, RelationAdmin},
		{TypeFolder, RelationParent},
		{TypeFolder, RelationOwner},
		{TypeFolder, RelationTrashed},
		{TypeFolder, RelationInviteOff},
		{TypeFolder, RelationCollaborationRestricted},
		{TypeFolder, PermissionVisible},
		{TypeFolder, PermissionTrashed},
		{TypeFolder, PermissionInviteRestricted},
		{TypeFolder, PermissionEnterpriseReach},
		{TypeFolder, PermissionWithin},
		{TypeFile, RelationParent},
		{TypeFile, RelationOwner},
		{TypeFile, RelationTrashed},
		{TypeFile, PermissionVisible},
		{TypeFile, PermissionTrashed},
		{TypeFile, PermissionEnterpriseReach},
		{TypeFile, PermissionWithin},
		{TypeFolder, RelationPlacement},
		{TypeFile, RelationPlacement},
		{TypeCollaboration, RelationItem},
		{TypeCollaboration, RelationAccessibleBy},
		{TypeEvent, RelationApplied},
		{TypeSource, RelationPosition},
		{TypeApp, RelationLive},
		{TypeApp, RelationScope},
		{TypeApp, RelationAsUser},
		{TypeApp, RelationClientSecret},
		{TypeAppGrant, RelationApp},
		{TypeAppGrant, RelationAuthorized},
		{TypeTokenFamily, RelationAlive},
		{TypeUserSession, RelationLive},
		{TypeAccessToken, RelationAlive},
		{TypeAccessToken, RelationRoot},
		{TypeAccessToken, RelationParent},
		{TypeAccessToken, RelationFamily},
		{TypeAccessToken, RelationGrant},
		{TypeAccessToken, RelationSession},
		{TypeAccessToken, RelationUser},
		{TypeAccessToken, RelationScope},
		{TypeAccessToken, RelationResource},
		{TypeAccessToken, RelationRefresh},
		{TypeAccessToken, PermissionValid},
		{TypeAccessToken, PermissionMayActAsUsers},
		{TypeRefreshToken, RelationAlive},
		{TypeRefreshToken, RelationUnspent},
		{TypeRefreshToken, RelationFamily},
		{TypeRefreshToken, RelationGrant},
		{TypeRefreshToken, RelationSession},
		{TypeRefreshToken, RelationUser},
		{TypeRefreshToken, RelationScope},
		{TypeRefreshToken, RelationAccess},
		{TypeRefreshToken, RelationSuccessor},
		{TypeRefreshToken, PermissionValid},
	}
	for _, u := range uses {
		if !defs[u.def][u.name] {
			t.Errorf("schema.zed: definition %s has no relation or permission %s", u.def, u.name)
		}
	}
	for _, typ := range []string{TypeFolder, TypeFile} {
		for _, p := range []string{HereAll, HerePreview, HereDownload, HereUpload, HereEdit, HereManage, HereFull, HereVisible, HerePreviewLink, HereDownloadLink, HereEditLink, HereReach} {
			if !defs[typ][p] {
				t.Errorf("schema.zed: definition %s has no permission %s", typ, p)
			}
		}
	}
	for _, d := range []string{TypeFlag, TypeScope, TypeClientSecret, TypeSealedPair} {
		if defs[d] == nil {
			t.Errorf("schema.zed has no definition %s", d)
		}
	}
	for _, c := range []string{CaveatNotExpired, CaveatSharedLink, CaveatPlacedUnder} {
		if !caveats[c] {
			t.Errorf("schema.zed has no caveat %s", c)
		}
	}
	for _, r := range Roles() {
		if !defs[TypeCollaboration][r.Relation()] && !defs[TypeFolder][r.Relation()] {
			t.Errorf("schema.zed: no relation %s for role %q", r.Relation(), r)
		}
	}
	for _, a := range ItemActions() {
		if !defs[TypeFolder][string(a)] || !defs[TypeFile][string(a)] {
			t.Errorf("schema.zed: action %s is not a permission of both folder and file", a)
		}
	}
}
