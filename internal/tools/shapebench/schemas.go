package shapebench

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/boxauthz/boxauthz/internal/bench/synth"
	"github.com/boxauthz/boxauthz/schema"
)

// Shape names one way of writing the waterfall in a SpiceDB schema.
type Shape string

const (
	// Naive nests each capability in the next more capable one
	// (`n_preview = n_download + previewer + ... + parent->n_preview`), the
	// way the SpiceDB documentation's first examples write Google-Drive-like
	// models.
	Naive Shape = "naive"
	// Separated is boxauthz's real schema (schema/schema.zed): every holder
	// set is a flat union of the role relations that hold it plus the same
	// holder set on the parent.
	Separated Shape = "separated"
	// Ancestors is the real schema with the waterfall flattened: every item
	// carries an `ancestor` relationship to each of its ancestor folders, and
	// every `X = direct + parent->X` becomes `X = X_direct + ancestor->X_direct`.
	Ancestors Shape = "ancestors"
	// Chain is the separated schema asked as boxauthz asks it with a folder
	// tree index (checker.WithTree): each check asks the item and every
	// folder above it in one CheckBulkPermissions, with the chain confirmed
	// in the same request. It runs on the separated shape's SpiceDB when
	// both are measured.
	Chain Shape = "chain"
)

// Shapes lists the shapes in the order they are reported.
func Shapes() []Shape { return []Shape{Naive, Separated, Ancestors, Chain} }

// NeedsAncestors tells whether the shape reads `ancestor` relationships,
// which the data set then has to carry besides parent relationships.
func (s Shape) NeedsAncestors() bool { return s == Ancestors }

// HasPlacements tells whether the shape's schema holds placements, which
// the data set then carries as sync writes them.
func (s Shape) HasPlacements() bool { return s != Naive }

// SchemaText returns the SpiceDB schema of the shape.
func (s Shape) SchemaText() (string, error) {
	switch s {
	case Naive:
		return synth.NaiveSchema, nil
	case Separated, Chain:
		return schema.Text(), nil
	case Ancestors:
		return AncestorsSchema(schema.Text())
	}
	return "", fmt.Errorf("unknown shape %q", s)
}

// AllActions are the 14 item actions of the real schema: the separated and
// ancestors shapes are compared on all of them.
func AllActions() []string {
	var out []string
	for _, a := range schema.ItemActions() {
		out = append(out, string(a))
	}
	return out
}

// Actions returns the actions the shape answers.
func (s Shape) Actions() []string {
	if s == Naive {
		return synth.CommonActions
	}
	return AllActions()
}

// waterfallRe matches a permission of the form
// `permission X = <direct terms> + parent->X` (or `permission X = parent->X`):
// a holder set that inherits the same holder set from the parent folder.
var waterfallRe = regexp.MustCompile(`^(\s*)permission\s+(\w+)\s*=\s*(?:(.*?)\s*\+\s*)?parent->(\w+)\s*$`)

// parentRelRe matches the parent relation of folder and file.
var parentRelRe = regexp.MustCompile(`^(\s*)relation\s+parent\s*:\s*folder\s*$`)

// AncestorsSchema derives the ancestors shape from a separated-shape schema
// text (the real one): in the folder and file definitions it adds
// `relation ancestor: folder` beside `relation parent: folder`, and rewrites
// every waterfall permission `X = D + parent->X` as
//
//	permission X_direct = D
//	permission X = X_direct + ancestor->X_direct
//
// (`X = parent->X` becomes `X = ancestor->X_direct`: the folder's X_direct).
// Every other permission, including the one-hop `parent->g_manage` of delete
// and move, stays as it is. The derived schema answers exactly like the
// separated one as long as every item's ancestor relationships list all and
// only its ancestor folders (TestShapesEquivalent checks it does).
func AncestorsSchema(separated string) (string, error) {
	lines := strings.Split(separated, "\n")
	var out []string
	def := ""
	rewritten := map[string]int{}
	addedAncestor := map[string]bool{}
	for _, line := range lines {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "definition ") {
			def = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(trim, "definition ")), "{")
			def = strings.TrimSpace(def)
		}
		if trim == "}" {
			def = ""
		}
		if def != "folder" && def != "file" {
			out = append(out, line)
			continue
		}
		if m := parentRelRe.FindStringSubmatch(line); m != nil {
			out = append(out, line, m[1]+"// Every ancestor folder of the item, nearest to root (ancestors shape).", m[1]+"relation ancestor: folder")
			addedAncestor[def] = true
			continue
		}
		m := waterfallRe.FindStringSubmatch(line)
		if m == nil || m[2] != m[4] {
			out = append(out, line)
			continue
		}
		indent, name, direct := m[1], m[2], strings.TrimSpace(m[3])
		if direct != "" {
			out = append(out, fmt.Sprintf("%spermission %s_direct = %s", indent, name, direct))
			out = append(out, fmt.Sprintf("%spermission %s = %s_direct + ancestor->%s_direct", indent, name, name, name))
		} else {
			out = append(out, fmt.Sprintf("%spermission %s = ancestor->%s_direct", indent, name, name))
		}
		rewritten[def]++
	}
	if !addedAncestor["folder"] || !addedAncestor["file"] {
		return "", fmt.Errorf("deriving the ancestors shape: no `relation parent: folder` in folder and file")
	}
	if rewritten["folder"] == 0 || rewritten["file"] == 0 {
		return "", fmt.Errorf("deriving the ancestors shape: no waterfall permission (`X = ... + parent->X`) in folder and file")
	}
	text := strings.Join(out, "\n")
	text = strings.Replace(text, "// Shape: \"separated\" waterfall.", "// Shape: \"ancestors\" (derived by internal/shapebench from the separated schema).", 1)
	return text, nil
}
