package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// bulkLine is one result of check --bulk --json.
type bulkLine struct {
	checkRequest
	Allowed          bool   `json:"allowed"`
	ConsistencyToken string `json:"consistency_token,omitempty"`
}

// runBulk asks the checks in file (- for standard input) and prints one
// result a line: exit 1 when any is denied.
func runBulk(cmd *cobra.Command, f *askFlags, file string, asJSON bool, stdout io.Writer) error {
	var (
		data []byte
		err  error
	)
	if file == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--bulk: %w", err)}
	}
	checks, err := decodeChecks(data)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--bulk %s: %w", file, err)}
	}
	if len(checks) == 0 {
		return &exitError{code: 2, err: fmt.Errorf("--bulk %s: no checks in it", file)}
	}
	if err := refuseDirectExtension(f, checks...); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--bulk %s: %w", file, err)}
	}
	ask, err := f.open(cmd.Context())
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer ask.Close()
	allowed, token, err := ask.checkBulk(cmd.Context(), checks)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	denied := 0
	for i, c := range checks {
		if !allowed[i] {
			denied++
		}
		if asJSON {
			b, err := json.Marshal(bulkLine{checkRequest: c, Allowed: allowed[i], ConsistencyToken: token})
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		verdict := "denied "
		if allowed[i] {
			verdict = "allowed"
		}
		user := c.User
		if user == "" {
			user = "(anonymous)"
		}
		line := fmt.Sprintf("%s %s %s %s", verdict, user, c.Action, c.Item)
		if c.ID != "" {
			line = c.ID + ": " + line
		}
		fmt.Fprintln(stdout, line)
	}
	if denied > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// decodeChecks reads a JSON array of checks, one check a line (JSONL), or
// a whole /v1/check/bulk body ({"checks": [...]}), strictly: a misspelt
// field is an error, not a check of nobody.
func decodeChecks(data []byte) ([]checkRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []checkRequest
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("value %d: %w", n, err)
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '[':
			var cs []checkRequest
			if err := strict(raw, &cs); err != nil {
				return nil, fmt.Errorf("array %d: %w", n, err)
			}
			out = append(out, cs...)
		case bytes.Contains(raw, []byte(`"checks"`)):
			var body struct {
				Checks []checkRequest `json:"checks"`
			}
			if err := strict(raw, &body); err != nil {
				return nil, fmt.Errorf("value %d: %w", n, err)
			}
			out = append(out, body.Checks...)
		default:
			var c checkRequest
			if err := strict(raw, &c); err != nil {
				return nil, fmt.Errorf("check %d: %w", n, err)
			}
			out = append(out, c)
		}
	}
}

func strict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
