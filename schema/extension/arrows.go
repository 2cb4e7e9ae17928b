package extension

import (
	"fmt"
	"math"

	"github.com/authzed/spicedb/pkg/graph"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
)

// checkArrows refuses an arrow (rel->target) in the extension's definition
// ns when no type rel may point to has target. SpiceDB accepts such an
// arrow and answers it with no one, which turns a misspelt folder->preview
// into a permission nobody ever holds. offset is how many lines of the
// composed schema precede the extension.
func checkArrows(name string, offset int, all *compiler.CompiledSchema, ns *core.NamespaceDefinition) error {
	defs := make(map[string]*core.NamespaceDefinition, len(all.ObjectDefinitions))
	for _, d := range all.ObjectDefinitions {
		defs[d.GetName()] = d
	}
	for _, rel := range ns.GetRelation() {
		_, err := graph.WalkRewrite(rel.GetUsersetRewrite(), func(child *core.SetOperation_Child) (any, error) {
			var tupleset, target string
			switch {
			case child.GetTupleToUserset() != nil:
				tupleset = child.GetTupleToUserset().GetTupleset().GetRelation()
				target = child.GetTupleToUserset().GetComputedUserset().GetRelation()
			case child.GetFunctionedTupleToUserset() != nil:
				tupleset = child.GetFunctionedTupleToUserset().GetTupleset().GetRelation()
				target = child.GetFunctionedTupleToUserset().GetComputedUserset().GetRelation()
			default:
				return nil, nil
			}
			if reachable(defs, ns, tupleset, target) {
				return nil, nil
			}
			line := lineIn(child.GetSourcePosition(), offset)
			if line == 0 {
				line = lineIn(rel.GetSourcePosition(), offset)
			}
			return nil, &Error{File: name, Line: line, Name: ns.GetName(), Reason: fmt.Sprintf("permission %s: the arrow %s->%s reaches no type with a relation or permission %s", rel.GetName(), tupleset, target, target)}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// reachable tells whether some type the relation tupleset of ns allows
// has a relation or permission target.
func reachable(defs map[string]*core.NamespaceDefinition, ns *core.NamespaceDefinition, tupleset, target string) bool {
	for _, rel := range ns.GetRelation() {
		if rel.GetName() != tupleset {
			continue
		}
		for _, allowed := range rel.GetTypeInformation().GetAllowedDirectRelations() {
			for _, r := range defs[allowed.GetNamespace()].GetRelation() {
				if r.GetName() == target {
					return true
				}
			}
		}
	}
	return false
}

// lineIn is the 1-based line in the extension of a position in a text
// where offset lines precede it; 0 when unknown or before the extension.
func lineIn(p *core.SourcePosition, offset int) int {
	n := p.GetZeroIndexedLineNumber()
	if p == nil || n > math.MaxInt32 || int(n) < offset {
		return 0
	}
	return int(n) - offset + 1
}
