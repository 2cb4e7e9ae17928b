package upgrade

import (
	"errors"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/schema"
)

func TestCompareOwnSchemaIsCurrent(t *testing.T) {
	st, err := Compare(schema.Text())
	if err != nil {
		t.Fatalf("compare own schema: %v", err)
	}
	if st != Current {
		t.Fatalf("own schema compares as %v, want current", st)
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name    string
		stored  string
		want    State
		problem string
	}{
		{name: "empty", stored: "", want: Absent},
		{name: "extended", stored: schema.Text() + "\ndefinition webhook {\n relation owner: user\n}\n", want: Compatible},
		{name: "extra relation", stored: strings.Replace(schema.Text(), "relation service_account: user:*", "relation service_account: user:*\n\trelation nickname: user", 1), want: Compatible},
		{name: "missing definition", stored: strings.Replace(schema.Text(), "definition collaboration {", "definition collab {", 1), problem: "definition collaboration is missing"},
		{name: "changed permission", stored: strings.Replace(schema.Text(), "permission g_owner = owner + parent->g_owner", "permission g_owner = owner", 1), problem: "g_owner"},
		{name: "not a schema", stored: "definition {", problem: "compiling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Compare(tt.stored)
			if tt.problem != "" {
				var ie *IncompatibleError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want *IncompatibleError", err)
				}
				if !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.problem)
				}
				return
			}
			if err != nil || st != tt.want {
				t.Fatalf("Compare = %v, %v; want %v", st, err, tt.want)
			}
		})
	}
}

func TestDifferences(t *testing.T) {
	tokenDefs := []string{"boxauthz_access_token", "boxauthz_token_family", "boxauthz_app_grant", "boxauthz_app", "boxauthz_flag"}
	tests := []struct {
		name   string
		stored string
		want   string // "" for none
	}{
		{name: "ours", stored: schema.Text()},
		{name: "extended elsewhere", stored: strings.Replace(schema.Text(), "relation service_account: user:*", "relation service_account: user:*\n\trelation nickname: user", 1)},
		{name: "comment", stored: strings.Replace(schema.Text(), "definition boxauthz_token_family {", "// ours, annotated\ndefinition boxauthz_token_family {", 1)},
		{name: "relation added", stored: strings.Replace(schema.Text(), "relation as_user: boxauthz_flag", "relation as_user: boxauthz_flag\n\trelation note: boxauthz_flag", 1), want: "boxauthz_app#note"},
		{name: "subject type added", stored: strings.Replace(schema.Text(), "relation alive: boxauthz_flag with expiration\n}", "relation alive: boxauthz_flag with expiration | user:*\n}", 1), want: "boxauthz_token_family#alive"},
		{name: "permission changed", stored: strings.Replace(schema.Text(), "permission live = authorized & app->live", "permission live = authorized", 1), want: "boxauthz_app_grant#live"},
		{name: "definition missing", stored: strings.ReplaceAll(strings.Replace(schema.Text(), "definition boxauthz_flag {}", "definition boxauthz_flag2 {}", 1), ": boxauthz_flag", ": boxauthz_flag2"), want: "definition boxauthz_flag is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Differences(tt.stored, tokenDefs...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && !strings.Contains(strings.Join(got, "; "), tt.want) {
				t.Fatalf("Differences = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := Differences("definition {", tokenDefs...); err == nil || !strings.Contains(err.Error(), "stored schema") {
		t.Errorf("a schema that does not compile: err = %v, want one naming the stored schema", err)
	}
}
