package docs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/sync/source"
)

func form(vs url.Values) string { return vs.Encode() }

// formHeader is a form request's headers, with HTTP Basic client
// authentication when id is set.
func formHeader(id, secret string) map[string]string {
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if id != "" {
		r, _ := http.NewRequest(http.MethodPost, "http://x", nil)
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		h["Authorization"] = r.Header.Get("Authorization")
	}
	return h
}

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for hk, hv := range h {
		out[hk] = hv
	}
	return out
}

// TestOpenAPIMatchesServer drives every documented operation of a running
// `boxauthz serve` with valid and invalid requests, and checks each
// request and answer against docs/openapi.yaml.
func TestOpenAPIMatchesServer(t *testing.T) {
	base := startServe(t)
	c := &client{t: t, base: base, v: newValidator(t), hit: map[string]bool{}}

	c.healthAndEvents()
	c.checks()
	tk := c.appsAndTokens()
	c.endUsers(tk)
	c.oauth(tk)
	c.webhooks()

	// Ending applications.
	c.do(exchange{name: "withdraw acme", op: "DELETE /v1/apps/{id}/enterprises/{enterprise}", path: "/v1/apps/crm/enterprises/acme", header: admin(), wantStatus: 204})
	c.do(exchange{name: "withdraw from a missing app", op: "DELETE /v1/apps/{id}/enterprises/{enterprise}", path: "/v1/apps/nope/enterprises/acme", header: admin(), wantStatus: 404})
	c.do(exchange{name: "delete an app", op: "DELETE /v1/apps/{id}", path: "/v1/apps/crm", header: admin(), wantStatus: 204})
	c.do(exchange{name: "delete it again", op: "DELETE /v1/apps/{id}", path: "/v1/apps/crm", header: admin(), wantStatus: 404})

	// Bad credentials, until the limit answers 429.
	c.untilLimited(exchange{
		name: "admin key guessing", op: "POST /v1/check", header: bearer("guess"),
		body: `{"user":"bob","action":"rename","item":{"type":"file","id":"plan"}}`, wantStatus: 401,
	})
	c.untilLimited(exchange{
		name: "refresh token guessing", op: "POST /oauth2/token", header: formHeader("", ""), wantStatus: 400,
		body: form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bxrt_guess"}}),
	})

	doc := loadOpenAPI(t)
	for _, op := range documentedOps(t, doc) {
		if !c.hit[op] {
			t.Errorf("%s is documented but no exchange exercises it", op)
		}
	}
	checkNoRoute(t, base, documentedOps(t, doc))
}

// wantIn fails unless body holds want.
func wantIn(t *testing.T, want string, body []byte) {
	t.Helper()
	if !strings.Contains(string(body), want) {
		t.Errorf("answer %s, want it to hold %s", body, want)
	}
}

// signed signs ex as a Box webhook delivery with serve's primary key.
func signed(ex exchange) exchange {
	ts := time.Now().UTC().Format(time.RFC3339)
	ex.op = "POST /webhooks/box"
	ex.header = map[string]string{
		"BOX-DELIVERY-TIMESTAMP": ts, "BOX-DELIVERY-ID": ex.name,
		"BOX-SIGNATURE-PRIMARY": source.SignWebhook(webhookKey, []byte(ex.body), ts),
	}
	return ex
}

// checkNoRoute asks every documented path with a method it does not take:
// the 405's Allow header, the server's own route table, must list the
// documented methods; and an unknown path is a 404 in the path's error
// shape.
func checkNoRoute(t *testing.T, base string, ops []string) {
	t.Helper()
	methods := map[string][]string{}
	for _, op := range ops {
		m, p, _ := strings.Cut(op, " ")
		p = strings.NewReplacer("{id}", "crm", "{enterprise}", "acme").Replace(p)
		methods[p] = append(methods[p], m)
	}
	for p, ms := range methods {
		req, _ := http.NewRequest(http.MethodPatch, base+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		allow := strings.Split(resp.Header.Get("Allow"), ", ")
		allow = slices.DeleteFunc(allow, func(m string) bool { return m == http.MethodHead })
		slices.Sort(allow)
		slices.Sort(ms)
		if resp.StatusCode != http.StatusMethodNotAllowed || !slices.Equal(allow, ms) {
			t.Errorf("PATCH %s: %d, Allow %q; documented methods %v: %s", p, resp.StatusCode, resp.Header.Get("Allow"), ms, body)
		}
	}
	for p, key := range map[string]string{"/v1/nothing": "code", "/oauth2/nothing": "error"} {
		resp, err := http.Post(base+p, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || err != nil || m[key] == nil {
			t.Errorf("POST %s: %d %v, want 404 with %q", p, resp.StatusCode, m, key)
		}
	}
}
