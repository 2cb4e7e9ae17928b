package httpapi

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/boxauthz/boxauthz/checker/oauth"
)

// FuzzTokenForm: any body sent to POST /oauth2/token parses without panic
// into a complete request or an OAuth error with one of the endpoint's codes.
func FuzzTokenForm(f *testing.F) {
	for _, s := range []string{
		"grant_type=refresh_token&refresh_token=bxrt_abc",
		"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=bxat_x&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&scope=item_preview+item_download&resource=folder%3A1",
		"grant_type=password", "", "grant_type=refresh_token&grant_type=refresh_token", "%zz", "a=b&c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/oauth2/token", bytes.NewBufferString(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, err := readForm(r, "grant_type", "refresh_token", "subject_token", "subject_token_type", "scope", "resource", "client_id", "client_secret")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		req, err := parseTokenForm(form)
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) || (oe.Code != "invalid_request" && oe.Code != "unsupported_grant_type") || oe.Description == "" {
				t.Fatalf("form %q: %v is not an invalid_request or unsupported_grant_type OAuth error", body, err)
			}
			return
		}
		switch req.grant {
		case grantRefresh:
			if req.refresh == "" {
				t.Fatalf("form %q: a refresh request without a token", body)
			}
		case grantExchange:
			if req.exchange.SubjectToken == "" {
				t.Fatalf("form %q: an exchange without a subject token", body)
			}
		default:
			t.Fatalf("form %q: grant %q", body, req.grant)
		}
	})
}

// FuzzAuthorizeBody: any POST /v1/authorize body is a valid request or a
// field error; never a panic.
func FuzzAuthorizeBody(f *testing.F) {
	for _, s := range []string{
		`{"action":"download","item":{"type":"file","id":"f1"}}`,
		`{"action":"manage_users","enterprise":"acme"}`,
		`{"action":"manage_groups","group":"g1"}`,
		`{"action":"preview","item":{"type":"folder","id":"1"},"shared_link":"https://app.box.com/s/folders/1","explain":true}`,
		`{"action":"download","item":null}`, `[]`, `{"action":1}`, `{}`,
	} {
		f.Add([]byte(s), "bxat_x", "")
	}
	f.Fuzz(func(t *testing.T, body []byte, token, asUser string) {
		req, err := parseAuthorizeBody(body, token, asUser)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("accepted %q but it does not validate: %v", body, err)
		}
		if (req.Item == nil) == (req.Enterprise == "" && req.Group == "") {
			t.Fatalf("accepted %q asking of neither or both an item and an enterprise or group", body)
		}
	})
}

// FuzzCheckBody: any POST /v1/check body is a valid question or an error.
func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{
		`{"user":"bob","action":"download","item":{"type":"file","id":"f1"}}`,
		`{"action":"list","item":{"type":"folder","id":"0"}}`,
		`{"user":"a@b.c","action":"invite","item":{"type":"folder","id":"x"},"shared_link":"folder:x","explain":true}`,
		`{"user":"","action":"","item":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b checkBody
		if err := decodeStrict(bytes.NewReader(body), &b); err != nil {
			return
		}
		q, err := b.question()
		if err != nil {
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("accepted %q but it does not validate: %v", body, err)
		}
	})
}
