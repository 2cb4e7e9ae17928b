package main

import (
	"fmt"
	"strings"

	"github.com/boxauthz/boxauthz/checker"
)

// because says in one sentence what an explanation found: the grants that
// allow, or why not. A reason this build does not know is named as it is,
// so a newer server's answers still read.
func because(ex checker.Explanation) string {
	var parts []string
	for _, g := range ex.Grants {
		switch g.Kind {
		case "ownership":
			parts = append(parts, "owner of "+g.On.String())
		case "collaboration":
			s := fmt.Sprintf("collaboration %s: %s on %s", g.Collaboration, g.Role, g.On)
			if g.Group != "" {
				s += " via group " + g.Group
			}
			if g.ExpiresAt != "" {
				s += " until " + g.ExpiresAt
			}
			parts = append(parts, s)
		case "shared_link":
			parts = append(parts, fmt.Sprintf("%s shared link on %s", g.Access, g.On))
		default:
			parts = append(parts, fmt.Sprintf("%s on %s", g.Kind, g.On))
		}
	}
	held := strings.Join(parts, "; ")
	switch ex.Reason {
	case "":
		if held == "" {
			return "allowed"
		}
		return held
	case checker.ReasonNoGrant:
		return "no grant reaches the item (to this caller it does not exist)"
	case checker.ReasonTrashed:
		return "the item or a folder above it is in the trash"
	case checker.ReasonInviteRestricted:
		return "holds " + held + ", but only owners and co-owners may invite here (can_non_owners_invite is off)"
	case checker.ReasonActionNotInRole:
		return "holds " + held + ", which does not include this action"
	}
	reason := strings.ReplaceAll(ex.Reason, "_", " ")
	if held == "" {
		return "denied: " + reason
	}
	return "holds " + held + ", but denied: " + reason
}
