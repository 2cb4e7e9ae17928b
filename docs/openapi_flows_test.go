package docs_test

import (
	"net/url"
	"strings"

	"github.com/boxauthz/boxauthz/examples"
)

// tokens are the credentials the application flow hands the later ones.
type tokens struct {
	secret, oldSecret, access, refresh, adminAccess string
}

// healthAndEvents: the health routes, and events mirrored, refused and
// repeated.
func (c *client) healthAndEvents() {
	ndjson := map[string]string{"Authorization": "Bearer " + adminKey, "Content-Type": "application/x-ndjson"}
	c.do(exchange{name: "healthz", op: "GET /healthz", wantStatus: 200})
	c.do(exchange{name: "readyz", op: "GET /readyz", wantStatus: 200})
	c.do(exchange{name: "readyz as admin", op: "GET /readyz", header: admin(), wantStatus: 200})
	c.do(exchange{name: "events without a key", op: "POST /v1/events", body: `[]`, wantStatus: 401, badRequest: true})
	c.do(exchange{name: "events with a wrong key", op: "POST /v1/events", header: bearer("wrong"), body: `[]`, wantStatus: 401})
	c.do(exchange{name: "events as NDJSON", op: "POST /v1/events", header: ndjson, body: string(examples.AcmeEvents), wantStatus: 200})
	c.do(exchange{
		name: "events as an array, one a repeat", op: "POST /v1/events", header: admin(), wantStatus: 200,
		body: `[{"id":"acme-001","type":"user.created","user":{"id":"ada","enterprise":"acme","role":"admin"}},
		        {"id":"t-001","type":"user.created","user":{"id":"fay","enterprise":"acme"}}]`,
	})
	c.do(exchange{
		name: "events with an unknown type", op: "POST /v1/events", header: admin(), wantStatus: 400, badRequest: true,
		body: `[{"id":"t-002","type":"user.renamed","user":{"id":"fay"}}]`,
	})
	c.do(exchange{
		name: "events with an unknown parent", op: "POST /v1/events", header: admin(), wantStatus: 400,
		body: `[{"id":"t-003","type":"file.created","file":{"id":"f9","parent":"nowhere","owner":"alice"}}]`,
	})
	c.do(exchange{
		name: "events past the body limit", op: "POST /v1/events", header: admin(), wantStatus: 413,
		body: `[` + strings.Repeat(`{"id":"big","type":"user.created","user":{"id":"u1"}},`, (9<<20)/52) + `{"id":"end","type":"user.deleted","user":{"id":"u1"}}]`,
	})
	c.do(exchange{name: "events not an array", op: "POST /v1/events", header: admin(), body: `{"id":"x"}`, wantStatus: 400, badRequest: true})
}

// checks: graph checks, bulk checks and both lookups, paged.
func (c *client) checks() {
	c.do(exchange{
		name: "check allowed, explained", op: "POST /v1/check", header: admin(), wantStatus: 200,
		body: `{"user":"bob","action":"rename","item":{"type":"file","id":"plan"},"explain":true}`,
	})
	c.do(exchange{
		name: "check denied, explained", op: "POST /v1/check", header: admin(), wantStatus: 200,
		body: `{"user":"bob","action":"delete","item":{"type":"folder","id":"projects"},"explain":true}`,
	})
	c.do(exchange{
		name: "check in the trash, explained", op: "POST /v1/check", header: admin(), wantStatus: 200,
		body: `{"user":"alice","action":"preview","item":{"type":"file","id":"old-notes"},"explain":true}`,
	})
	tok := field(c.t, c.do(exchange{
		name: "anonymous check with a link", op: "POST /v1/check", header: admin(), wantStatus: 200,
		body: `{"action":"preview","item":{"type":"file","id":"plan"},"shared_link":"https://app.box.com/2.0/files/plan","explain":true}`,
	}), "consistency_token")
	c.do(exchange{
		name: "check at a consistency token", op: "POST /v1/check", header: admin(), wantStatus: 200,
		body: `{"user":"dave","action":"upload","item":{"type":"folder","id":"assets"},"consistency_token":"` + tok + `"}`,
	})
	c.do(exchange{
		name: "check with an unknown field", op: "POST /v1/check", header: admin(), wantStatus: 400, badRequest: true,
		body: `{"user":"bob","action":"rename","item":{"type":"file","id":"plan"},"why":true}`,
	})
	c.do(exchange{
		name: "check with an unknown action", op: "POST /v1/check", header: admin(), wantStatus: 400, badRequest: true,
		body: `{"user":"bob","action":"print","item":{"type":"file","id":"plan"}}`,
	})
	c.do(exchange{
		name: "check with a forged consistency token", op: "POST /v1/check", header: admin(), wantStatus: 400,
		body: `{"user":"bob","action":"rename","item":{"type":"file","id":"plan"},"consistency_token":"forged"}`,
	})
	c.do(exchange{
		name: "check without a key", op: "POST /v1/check", wantStatus: 401, badRequest: true,
		body: `{"user":"bob","action":"rename","item":{"type":"file","id":"plan"}}`,
	})
	c.do(exchange{
		name: "bulk check", op: "POST /v1/check/bulk", header: admin(), wantStatus: 200,
		body: `{"checks":[{"id":"a","user":"bob","action":"download","item":{"type":"file","id":"plan"}},{"user":"erin","action":"list","item":{"type":"folder","id":"projects"}}]}`,
	})
	c.do(exchange{name: "bulk check of nothing", op: "POST /v1/check/bulk", header: admin(), body: `{"checks":[]}`, wantStatus: 400, badRequest: true})
	c.do(exchange{
		name: "bulk check explaining one", op: "POST /v1/check/bulk", header: admin(), wantStatus: 400, badRequest: true,
		body: `{"checks":[{"user":"bob","action":"download","item":{"type":"file","id":"plan"},"explain":true}]}`,
	})
	page := c.do(exchange{
		name: "lookup items, first page", op: "POST /v1/lookup/items", header: admin(), wantStatus: 200,
		body: `{"user":"bob","action":"preview","type":"folder","limit":1}`,
	})
	cursor := field(c.t, page, "cursor")
	c.do(exchange{
		name: "lookup items, next page", op: "POST /v1/lookup/items", header: admin(), wantStatus: 200,
		body: `{"user":"bob","action":"preview","type":"folder","limit":1000,"cursor":"` + cursor + `"}`,
	})
	c.do(exchange{
		name: "lookup items, borrowed cursor", op: "POST /v1/lookup/items", header: admin(), wantStatus: 400,
		body: `{"user":"dave","action":"preview","type":"folder","cursor":"` + cursor + `"}`,
	})
	c.do(exchange{
		name: "lookup items, limit too large", op: "POST /v1/lookup/items", header: admin(), wantStatus: 400, badRequest: true,
		body: `{"user":"bob","action":"preview","type":"file","limit":10001}`,
	})
	c.do(exchange{
		name: "lookup users", op: "POST /v1/lookup/users", header: admin(), wantStatus: 200,
		body: `{"item":{"type":"file","id":"plan"},"action":"download"}`,
	})
	c.do(exchange{
		name: "lookup users of the root", op: "POST /v1/lookup/users", header: admin(), wantStatus: 400, badRequest: true,
		body: `{"item":{"type":"folder","id":"0"},"action":"download"}`,
	})
}

// appsAndTokens: applications made, changed and authorized, and tokens
// issued for them.
func (c *client) appsAndTokens() tokens {
	secret := field(c.t, c.do(exchange{
		name: "create an app", op: "POST /v1/apps", header: admin(), wantStatus: 201,
		body: `{"id":"crm","scopes":["root_readonly"],"as_user":false}`,
	}), "client_secret")
	c.do(exchange{name: "create it again", op: "POST /v1/apps", header: admin(), wantStatus: 409, body: `{"id":"crm","scopes":[]}`})
	c.do(exchange{
		name: "create an app with an unknown scope", op: "POST /v1/apps", header: admin(), wantStatus: 400, badRequest: true,
		body: `{"id":"erp","scopes":["everything"]}`,
	})
	c.do(exchange{name: "create an app without scopes", op: "POST /v1/apps", header: admin(), wantStatus: 400, badRequest: true, body: `{"id":"erp"}`})
	c.do(exchange{name: "create an unauthorized app", op: "POST /v1/apps", header: admin(), wantStatus: 201, body: `{"id":"erp","scopes":["root_readonly"]}`})
	c.do(exchange{name: "get an app", op: "GET /v1/apps/{id}", path: "/v1/apps/crm", header: admin(), wantStatus: 200})
	c.do(exchange{name: "get a missing app", op: "GET /v1/apps/{id}", path: "/v1/apps/nope", header: admin(), wantStatus: 404})
	c.do(exchange{
		name: "change an app", op: "PUT /v1/apps/{id}", path: "/v1/apps/crm", header: admin(), wantStatus: 200,
		body: `{"scopes":["root_readonly","root_readwrite"]}`,
	})
	c.do(exchange{name: "change the default app", op: "PUT /v1/apps/{id}", path: "/v1/apps/default", header: admin(), wantStatus: 400, body: `{"as_user":false}`})
	c.do(exchange{name: "change an app's id", op: "PUT /v1/apps/{id}", path: "/v1/apps/crm", header: admin(), wantStatus: 400, badRequest: true, body: `{"id":"other"}`})
	old := secret
	secret = field(c.t, c.do(exchange{name: "rotate the secret", op: "POST /v1/apps/{id}/secret", path: "/v1/apps/crm/secret", header: admin(), wantStatus: 200}), "client_secret")
	c.do(exchange{name: "rotate a missing app's secret", op: "POST /v1/apps/{id}/secret", path: "/v1/apps/nope/secret", header: admin(), wantStatus: 404})
	c.do(exchange{name: "authorize for acme", op: "PUT /v1/apps/{id}/enterprises/{enterprise}", path: "/v1/apps/crm/enterprises/acme", header: admin(), wantStatus: 204})
	c.do(exchange{name: "authorize a missing app", op: "PUT /v1/apps/{id}/enterprises/{enterprise}", path: "/v1/apps/nope/enterprises/acme", header: admin(), wantStatus: 404})
	pair := c.do(exchange{
		name: "issue a pair", op: "POST /v1/tokens", header: admin(), wantStatus: 201,
		body: `{"user":"bob","scopes":["root_readwrite"],"app":"crm"}`,
	})
	access, refresh := field(c.t, pair, "access_token"), field(c.t, pair, "refresh_token")
	adaPair := c.do(exchange{
		name: "issue a default-app pair", op: "POST /v1/tokens", header: admin(), wantStatus: 201,
		body: `{"user":"ada","scopes":["root_readwrite","manage_managed_users"]}`,
	})
	adaAccess := field(c.t, adaPair, "access_token")
	c.do(exchange{
		name: "issue for an unauthorized app", op: "POST /v1/tokens", header: admin(), wantStatus: 403,
		body: `{"user":"bob","scopes":["root_readonly"],"app":"erp"}`,
	})
	c.do(exchange{
		name: "issue a scope the app lacks", op: "POST /v1/tokens", header: admin(), wantStatus: 400,
		body: `{"user":"bob","scopes":["manage_groups"],"app":"crm"}`,
	})
	c.do(exchange{
		name: "issue an unknown scope", op: "POST /v1/tokens", header: admin(), wantStatus: 400, badRequest: true,
		body: `{"user":"bob","scopes":["everything"]}`,
	})
	c.do(exchange{
		name: "issue for an unknown user", op: "POST /v1/tokens", header: admin(), wantStatus: 400,
		body: `{"user":"nobody","scopes":["root_readonly"]}`,
	})
	return tokens{secret: secret, oldSecret: old, access: access, refresh: refresh, adminAccess: adaAccess}
}

// endUsers: decisions and the acting user of end-user tokens.
func (c *client) endUsers(tk tokens) {
	access, adaAccess := tk.access, tk.adminAccess
	c.do(exchange{
		name: "authorize allowed", op: "POST /v1/authorize", header: bearer(access), wantStatus: 200,
		body: `{"action":"download","item":{"type":"file","id":"plan"}}`,
	})
	c.do(exchange{
		name: "authorize denied, explained", op: "POST /v1/authorize", header: bearer(access), wantStatus: 200,
		body: `{"action":"delete","item":{"type":"folder","id":"projects"},"explain":true}`,
	})
	c.do(exchange{
		name: "authorize as another user", op: "POST /v1/authorize", header: with(bearer(adaAccess), "As-User", "dave"), wantStatus: 200,
		body: `{"action":"upload","item":{"type":"folder","id":"assets"},"explain":true}`,
	})
	c.do(exchange{
		name: "authorize manage_users", op: "POST /v1/authorize", header: bearer(adaAccess), wantStatus: 200,
		body: `{"action":"manage_users","enterprise":"acme"}`,
	})
	c.do(exchange{
		name: "authorize without a token", op: "POST /v1/authorize", wantStatus: 200,
		body: `{"action":"download","item":{"type":"file","id":"plan"},"explain":true}`,
	})
	wantIn(c.t, `"code":"trashed"`, c.do(exchange{
		name: "authorize as the owner, in the trash", op: "POST /v1/authorize", header: with(bearer(adaAccess), "As-User", "alice"), wantStatus: 200,
		body: `{"action":"preview","item":{"type":"file","id":"old-notes"},"explain":true}`,
	}))
	c.do(exchange{
		name: "authorize a question too large", op: "POST /v1/authorize", header: bearer(access), wantStatus: 413,
		body: `{"action":"download","item":{"type":"file","id":"plan"},"shared_link":"` + strings.Repeat("x", 70<<10) + `"}`,
	})
	c.do(exchange{
		name: "authorize without an action", op: "POST /v1/authorize", header: bearer(access), wantStatus: 400, badRequest: true,
		body: `{"item":{"type":"file","id":"plan"}}`,
	})
	c.do(exchange{name: "users/me", op: "GET /2.0/users/me", header: bearer(access), wantStatus: 200})
	c.do(exchange{name: "users/me as dave", op: "GET /2.0/users/me", header: with(bearer(adaAccess), "As-User", "dave"), wantStatus: 200})
	c.do(exchange{name: "users/me as-user refused", op: "GET /2.0/users/me", header: with(bearer(access), "As-User", "dave"), wantStatus: 403})
	c.do(exchange{name: "users/me with a malformed As-User", op: "GET /2.0/users/me", header: with(bearer(access), "As-User", "da ve"), wantStatus: 400})
	c.do(exchange{name: "users/me with an unknown token", op: "GET /2.0/users/me", header: bearer("bxat_unknown"), wantStatus: 401})
}

// oauth: refresh, exchange and revoke, and their refusals.
func (c *client) oauth(tk tokens) {
	refresh, secret, old := tk.refresh, tk.secret, tk.oldSecret
	newPair := c.do(exchange{
		name: "refresh", op: "POST /oauth2/token", header: formHeader("crm", secret), wantStatus: 200,
		body: form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "box_device_id": {"d1"}}),
	})
	access := field(c.t, newPair, "access_token")
	c.do(exchange{
		name: "refresh with the old secret", op: "POST /oauth2/token", header: formHeader("crm", old), wantStatus: 401,
		body: form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {field(c.t, newPair, "refresh_token")}}),
	})
	c.do(exchange{
		name: "refresh an unknown token", op: "POST /oauth2/token", header: formHeader("", ""), wantStatus: 400,
		body: form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bxrt_unknown"}}),
	})
	exchangeForm := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {access},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "scope": {"item_preview item_download"},
		"resource": {"https://api.box.com/2.0/folders/launch"}, "client_id": {"crm"}, "client_secret": {secret},
	}
	down := field(c.t, c.do(exchange{name: "exchange", op: "POST /oauth2/token", header: formHeader("", ""), wantStatus: 200, body: form(exchangeForm)}), "access_token")
	for _, d := range []struct{ name, body, code string }{
		{"inside its resource", `{"action":"preview","item":{"type":"file","id":"plan"}}`, `"code":""`},
		{"outside its resource", `{"action":"preview","item":{"type":"folder","id":"projects"},"explain":true}`, `"code":"not_found"`},
		{"beyond its scopes", `{"action":"rename","item":{"type":"file","id":"plan"},"explain":true}`, `"code":"insufficient_scope"`},
		{"an enterprise action", `{"action":"manage_groups","group":"design"}`, `"code":"insufficient_scope"`},
	} {
		wantIn(c.t, d.code, c.do(exchange{name: "downscoped token, " + d.name, op: "POST /v1/authorize", header: bearer(down), wantStatus: 200, body: d.body}))
	}
	exchangeForm.Set("scope", "manage_groups")
	c.do(exchange{name: "exchange for a scope beyond the subject", op: "POST /oauth2/token", header: formHeader("", ""), wantStatus: 400, body: form(exchangeForm)})
	c.do(exchange{
		name: "unsupported grant", op: "POST /oauth2/token", header: formHeader("", ""), wantStatus: 400, badRequest: true,
		body: form(url.Values{"grant_type": {"password"}, "username": {"bob"}}),
	})
	c.do(exchange{
		name: "token form in the URL", op: "POST /oauth2/token", path: "/oauth2/token?grant_type=refresh_token", header: formHeader("", ""), wantStatus: 400,
		body: form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}),
	})
	c.do(exchange{
		name: "token form too large", op: "POST /oauth2/token", header: formHeader("", ""), wantStatus: 413,
		body: form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("x", 70<<10)}}),
	})
	c.do(exchange{name: "revoke", op: "POST /oauth2/revoke", header: formHeader("crm", secret), wantStatus: 200, body: form(url.Values{"token": {access}})})
	c.do(exchange{name: "revoke with a wrong secret", op: "POST /oauth2/revoke", header: formHeader("crm", "wrong"), wantStatus: 401, body: form(url.Values{"token": {access}})})
	c.do(exchange{name: "revoke as JSON", op: "POST /oauth2/revoke", wantStatus: 400, badRequest: true, body: `{"token":"x"}`})
	c.do(exchange{
		name: "authorize with the revoked token", op: "POST /v1/authorize", header: bearer(access), wantStatus: 200,
		body: `{"action":"download","item":{"type":"file","id":"plan"},"explain":true}`,
	})
}

// webhooks: metrics, and Box webhook deliveries unsigned and signed.
func (c *client) webhooks() {
	c.do(exchange{name: "metrics", op: "GET /metrics", wantStatus: 200})
	c.do(exchange{name: "unsigned webhook", op: "POST /webhooks/box", wantStatus: 401, body: `{"trigger":"FILE.UPLOADED"}`})
	wantIn(c.t, `"applied":1,`, c.do(signed(exchange{
		name: "webhook applied", wantStatus: 200,
		body: `{"type":"webhook_event","id":"wh-1","trigger":"FILE.UPLOADED","source":{"type":"file","id":"wh-file","parent":{"type":"folder","id":"projects"},"owned_by":{"type":"user","id":"alice"}}}`,
	})))
	wantIn(c.t, `"ignored":true`, c.do(signed(exchange{
		name: "webhook ignored", wantStatus: 200,
		body: `{"type":"webhook_event","id":"wh-2","trigger":"FILE.PREVIEWED","source":{"type":"file","id":"plan"}}`,
	})))
	wantIn(c.t, `"dead_lettered":true`, c.do(signed(exchange{
		name: "webhook set aside", wantStatus: 200,
		body: `{"type":"webhook_event","id":"wh-3","trigger":"FILE.UPLOADED","source":{"type":"file","id":"wh-file2","parent":{"type":"folder","id":"nowhere"},"owned_by":{"type":"user","id":"alice"}}}`,
	})))
}
