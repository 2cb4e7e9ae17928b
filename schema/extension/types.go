package extension

import (
	"slices"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// Permissions lists the definitions the extension ext adds, each with its
// permissions, sorted: what a check of an extension type may ask. Plain
// relations are left out: they hold what a relationship names (a hub's
// folder), not a user's permission. ext is compiled alone, so call it on
// an extension Compose accepted.
func Permissions(ext []byte, name string) (map[string][]string, error) {
	c, err := compileText(name, string(ext), true)
	if err != nil {
		return nil, asError(name, 0, "", err)
	}
	out := make(map[string][]string, len(c.ObjectDefinitions))
	for _, ns := range c.ObjectDefinitions {
		perms := []string{}
		for _, r := range ns.GetRelation() {
			if isPermission(r) {
				perms = append(perms, r.GetName())
			}
		}
		slices.Sort(perms)
		out[ns.GetName()] = perms
	}
	return out, nil
}

func isPermission(r *core.Relation) bool { return r.GetUsersetRewrite() != nil }
