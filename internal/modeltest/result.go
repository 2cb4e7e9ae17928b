package modeltest

import (
	"fmt"
	"io"

	"github.com/boxauthz/boxauthz/checker"
)

// Report is the outcome of running test files.
type Report struct {
	Files []FileResult `json:"files"`
	// Tests and Passed count tests; Assertions and Failed, assertions.
	Tests      int `json:"tests"`
	Passed     int `json:"passed"`
	Assertions int `json:"assertions"`
	Failed     int `json:"failed_assertions"`
}

// FileResult is the outcome of one test file.
type FileResult struct {
	File  string       `json:"file"`
	Name  string       `json:"name,omitempty"`
	Tests []TestResult `json:"tests"`
}

// TestResult is the outcome of one test.
type TestResult struct {
	Name       string    `json:"name"`
	Line       int       `json:"line"`
	Passed     bool      `json:"passed"`
	Assertions int       `json:"assertions"`
	Failures   []Failure `json:"failures"`
}

// Failure is one assertion that did not hold.
type Failure struct {
	File string `json:"file"`
	// Line is the line of the expectation that failed (allowed, grant,
	// reason, items, users) in the test file.
	Line      int    `json:"line"`
	Assertion string `json:"assertion"` // check, lookup_items or lookup_users
	Message   string `json:"message"`
	// A check's answer and its explanation.
	Allowed  *bool           `json:"allowed,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Sentence string          `json:"sentence,omitempty"`
	Grants   []checker.Grant `json:"grants,omitempty"`
	// A lookup's difference from the expected set.
	Missing []string `json:"missing,omitempty"`
	Extra   []string `json:"extra,omitempty"`
}

// Add counts a file's results into the report.
func (r *Report) Add(f FileResult) {
	r.Files = append(r.Files, f)
	for _, t := range f.Tests {
		r.Tests++
		r.Assertions += t.Assertions
		r.Failed += len(t.Failures)
		if t.Passed {
			r.Passed++
		}
	}
}

// OK tells whether every test passed.
func (r *Report) OK() bool { return r.Passed == r.Tests }

// WriteText writes the report for a terminal: each file, each test PASS or
// FAIL with its failures as file:line: lines, then the totals.
func (r *Report) WriteText(w io.Writer) error {
	for _, f := range r.Files {
		title := f.File
		if f.Name != "" {
			title += " (" + f.Name + ")"
		}
		if _, err := fmt.Fprintln(w, title); err != nil {
			return err
		}
		for _, t := range f.Tests {
			mark := "PASS"
			if !t.Passed {
				mark = "FAIL"
			}
			if _, err := fmt.Fprintf(w, "  %s  %s\n", mark, t.Name); err != nil {
				return err
			}
			for _, fl := range t.Failures {
				if _, err := fmt.Fprintf(w, "        %s:%d: %s\n", fl.File, fl.Line, fl.Message); err != nil {
					return err
				}
			}
		}
	}
	failed := ""
	if r.Failed > 0 {
		failed = fmt.Sprintf(", %d failed", r.Failed)
	}
	_, err := fmt.Fprintf(w, "%d of %d tests passed, %d assertions%s\n", r.Passed, r.Tests, r.Assertions, failed)
	return err
}
