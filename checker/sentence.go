package checker

import (
	"fmt"
	"strings"
)

// Sentence says the explanation in words, for a person reading a terminal
// or a log: the grants that allow the answer, or why it is no. A reason or
// grant kind it does not know (from a newer server) is named as it is.
func (e Explanation) Sentence() string {
	held := describeGrants(e.Grants)
	switch e.Reason {
	case "":
		if held == "" {
			return "allowed"
		}
		return held
	case ReasonNotMirrored:
		return e.Detail + " (send its created event first)"
	case ReasonPending:
		return "no grant is active yet: " + describeGrants(e.Inactive) + " is pending until accepted"
	case ReasonExpired:
		return "no grant is active any more: " + describeGrants(e.Inactive) + " has expired"
	case ReasonCollaborationRestricted:
		return "no grant reaches the item, and " + e.Detail + ", so no collaboration can be added for the user"
	case ReasonNoGrant:
		return "no grant reaches the item (to this caller it does not exist)"
	case ReasonTrashed:
		return "the item or a folder above it is in the trash"
	case ReasonInviteRestricted:
		return "holds " + held + ", but only owners and co-owners may invite here (can_non_owners_invite is off)"
	case ReasonActionNotInRole:
		return "holds " + held + ", which does not include this action"
	}
	reason := strings.ReplaceAll(e.Reason, "_", " ")
	if held == "" {
		return "denied: " + reason
	}
	return "holds " + held + ", but denied: " + reason
}

func describeGrants(gs []Grant) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		switch g.Kind {
		case "ownership":
			parts = append(parts, "owner of "+g.On.String())
		case "collaboration":
			s := "collaboration " + g.Collaboration
			if g.Role != "" {
				s += ": " + g.Role
			}
			s += " on " + g.On.String()
			if g.Group != "" {
				s += " via group " + g.Group
			}
			switch {
			case g.Status == StatusExpired && g.ExpiresAt != "":
				s += " (ended " + g.ExpiresAt + ")"
			case g.ExpiresAt != "":
				s += " until " + g.ExpiresAt
			}
			parts = append(parts, s)
		case "shared_link":
			parts = append(parts, fmt.Sprintf("%s shared link on %s", g.Access, g.On))
		default:
			parts = append(parts, fmt.Sprintf("%s on %s", g.Kind, g.On))
		}
	}
	return strings.Join(parts, "; ")
}
