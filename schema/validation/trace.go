package validation

import (
	"fmt"
	"io"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// Trace is one step of how SpiceDB answered a check: the permission or
// relation it looked at on a resource, for a subject, and the steps under
// it. It is SpiceDB's check debug trace, as `zed validate` prints it.
type Trace struct {
	Resource   string  `json:"resource"`   // type:id
	Permission string  `json:"permission"` // the permission or relation
	Kind       string  `json:"kind"`       // "permission" or "relation"
	Subject    string  `json:"subject"`    // type:id or type:id#relation
	Result     string  `json:"result"`     // has permission, no permission, caveated
	Caveat     string  `json:"caveat,omitempty"`
	Cached     bool    `json:"cached,omitempty"`
	Children   []Trace `json:"children,omitempty"`
}

func traceOf(t *v1.CheckDebugTrace) *Trace {
	if t == nil {
		return nil
	}
	out := &Trace{
		Resource:   t.GetResource().GetObjectType() + ":" + t.GetResource().GetObjectId(),
		Permission: t.GetPermission(),
		Kind:       "relation",
		Subject:    subjectString(t.GetSubject()),
		Result:     traceResult(t.GetResult()),
		Cached:     t.GetWasCachedResult(),
	}
	if t.GetPermissionType() == v1.CheckDebugTrace_PERMISSION_TYPE_PERMISSION {
		out.Kind = "permission"
	}
	if ci := t.GetCaveatEvaluationInfo(); ci != nil {
		out.Caveat = caveatString(ci)
	}
	for _, sub := range t.GetSubProblems().GetTraces() {
		out.Children = append(out.Children, *traceOf(sub))
	}
	return out
}

func subjectString(s *v1.SubjectReference) string {
	out := s.GetObject().GetObjectType() + ":" + s.GetObject().GetObjectId()
	if s.GetOptionalRelation() != "" {
		out += "#" + s.GetOptionalRelation()
	}
	return out
}

func traceResult(r v1.CheckDebugTrace_Permissionship) string {
	switch r {
	case v1.CheckDebugTrace_PERMISSIONSHIP_HAS_PERMISSION:
		return "has permission"
	case v1.CheckDebugTrace_PERMISSIONSHIP_NO_PERMISSION:
		return "no permission"
	case v1.CheckDebugTrace_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
		return "caveated"
	}
	return "unknown"
}

func caveatString(ci *v1.CaveatEvalInfo) string {
	name := ci.GetCaveatName()
	if ci.GetExpression() != "" {
		name = fmt.Sprintf("%s (%s)", name, ci.GetExpression())
	}
	switch ci.GetResult() {
	case v1.CaveatEvalInfo_RESULT_TRUE:
		return name + " is true"
	case v1.CaveatEvalInfo_RESULT_FALSE:
		return name + " is false"
	case v1.CaveatEvalInfo_RESULT_MISSING_SOME_CONTEXT:
		return fmt.Sprintf("%s is missing context %s", name, strings.Join(ci.GetPartialCaveatInfo().GetMissingRequiredContext(), ", "))
	}
	return name + " not evaluated"
}

// Write prints the trace as an indented tree, a step a line:
// "folder:a#edit for user:y: no permission", its steps under it.
func (t *Trace) Write(w io.Writer, indent string) {
	line := fmt.Sprintf("%s%s#%s for %s: %s", indent, t.Resource, t.Permission, t.Subject, t.Result)
	if t.Caveat != "" {
		line += " [" + t.Caveat + "]"
	}
	if t.Cached {
		line += " (cached)"
	}
	fmt.Fprintln(w, line)
	for i := range t.Children {
		t.Children[i].Write(w, indent+"  ")
	}
}

// WriteProblem prints a problem as compilers do: "file:line:col: kind:
// message", then the line it is on with a caret under the column, then the
// trace of a failed assertion.
func WriteProblem(w io.Writer, p Problem) {
	fmt.Fprintln(w, p.String())
	if p.SourceLine != "" && p.Column > 0 {
		fmt.Fprintf(w, "  %s\n  %s^\n", expandTabs(p.SourceLine), strings.Repeat(" ", caretOffset(p.SourceLine, p.Column)))
	}
	if p.Trace != nil {
		fmt.Fprintln(w, "  explanation:")
		p.Trace.Write(w, "    ")
	}
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

// caretOffset is how far the caret goes for a 1-based byte column, tabs
// counted as the four spaces expandTabs prints.
func caretOffset(line string, col int) int {
	n := 0
	for i := 0; i < col-1 && i < len(line); i++ {
		if line[i] == '\t' {
			n += 4
		} else {
			n++
		}
	}
	return n
}
