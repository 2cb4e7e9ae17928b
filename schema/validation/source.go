package validation

import (
	"strings"
)

// source is a validation file being run, with what is needed to turn
// SpiceDB's positions into the file's lines and columns.
type source struct {
	name     string
	contents []byte
	lines    []string
	// schemaPath and schemaText are the schemaFile's, when one is used:
	// schema problems are then positions in it.
	schemaPath string
	schemaText []byte
}

func newSource(name string, contents []byte) *source {
	return &source{name: name, contents: contents, lines: splitLines(contents)}
}

func splitLines(b []byte) []string {
	return strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
}

// line is the text of a 1-based line of the file, "" past its end.
func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// firstColumn is the 1-based column where line n's text starts.
func (s *source) firstColumn(n int) int {
	l := s.line(n)
	return len(l) - len(strings.TrimLeft(l, " \t")) + 1
}

// keyValuePos is where a top-level key's value is written: after the key on
// its line, or the first line of a block that follows it.
func (s *source) keyValuePos(key string) (int, int) {
	for i, l := range s.lines {
		if !strings.HasPrefix(l, key+":") {
			continue
		}
		rest := l[len(key)+1:]
		if v := strings.TrimSpace(rest); v != "" && v != "|" && v != "|-" && v != ">" && v != ">-" {
			return i + 1, len(key) + 1 + len(rest) - len(strings.TrimLeft(rest, " ")) + 1
		}
		return i + 1, len(key) + 1
	}
	return 0, 0
}

// blockIndent is how far a top-level key's block is indented: the
// indentation of its first non-blank line, which YAML strips from all.
func (s *source) blockIndent(key string) int {
	start, _ := s.keyValuePos(key)
	if start == 0 {
		return 0
	}
	for i := start + 1; i <= len(s.lines); i++ {
		if strings.TrimSpace(s.line(i)) != "" {
			return s.firstColumn(i) - 1
		}
	}
	return 0
}

// find is the first position of needle at or after line start; 0, 0 when
// it is not there.
func (s *source) find(needle string, start int) (int, int) {
	if needle == "" {
		return 0, 0
	}
	for i := max(start, 1); i <= len(s.lines); i++ {
		if c := strings.Index(s.lines[i-1], needle); c >= 0 {
			return i, c + 1
		}
	}
	return 0, 0
}

// withSource fills in the line of text a problem points at, for the caret.
func (s *source) withSource(p Problem) Problem {
	switch {
	case p.Line == 0:
	case p.File == s.name:
		p.SourceLine = s.line(p.Line)
	case p.File == s.schemaPath:
		if ls := splitLines(s.schemaText); p.Line <= len(ls) {
			p.SourceLine = ls[p.Line-1]
		}
	}
	return p
}
