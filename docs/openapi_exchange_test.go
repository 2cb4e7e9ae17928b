package docs_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	validator "github.com/pb33f/libopenapi-validator"
)

// exchange is one request to the running server and what it must answer.
type exchange struct {
	name   string
	op     string // "METHOD /documented/path", the operation it exercises
	path   string // the concrete path when op has parameters
	header map[string]string
	body   string
	// wantStatus is the status the server must answer.
	wantStatus int
	// badRequest marks a request the description itself refuses (a body
	// or header outside its schema): the description must refuse it too.
	badRequest bool
}

// client sends exchanges to a running server, checks each request and
// answer against the OpenAPI description, and keeps the operations hit.
type client struct {
	t    *testing.T
	base string
	v    validator.Validator
	hit  map[string]bool
}

func (c *client) request(ex exchange) *http.Request {
	method, route, _ := strings.Cut(ex.op, " ")
	path := ex.path
	if path == "" {
		path = route
	}
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(ex.body))
	if err != nil {
		c.t.Fatalf("%s: %v", ex.name, err)
	}
	if ex.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range ex.header {
		req.Header.Set(k, v)
	}
	return req
}

// do sends ex and returns the answer's body, failing the test where the
// server or the description disagree with ex or with each other.
func (c *client) do(ex exchange) []byte {
	c.t.Helper()
	c.hit[ex.op] = true
	resp, err := http.DefaultClient.Do(c.request(ex))
	if err != nil {
		c.t.Fatalf("%s: %v", ex.name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("%s: reading the answer: %v", ex.name, err)
	}
	if resp.StatusCode != ex.wantStatus {
		c.t.Errorf("%s: status %d, want %d: %s", ex.name, resp.StatusCode, ex.wantStatus, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		c.t.Errorf("%s: no X-Request-Id header", ex.name)
	}
	okReq, reqErrs := c.v.ValidateHttpRequest(c.request(ex))
	switch {
	case ex.badRequest && okReq:
		c.t.Errorf("%s: the description takes a request the server refuses: %s", ex.name, ex.body)
	case !ex.badRequest && !okReq:
		for _, e := range reqErrs {
			c.t.Errorf("%s: request outside the description: %s: %s %v", ex.name, e.Message, e.Reason, schemaErrs(e.SchemaValidationErrors))
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := c.v.ValidateHttpResponse(c.request(ex), resp); !ok {
		for _, e := range errs {
			c.t.Errorf("%s: answer %d outside the description: %s: %s %v\n%s", ex.name, resp.StatusCode, e.Message, e.Reason, schemaErrs(e.SchemaValidationErrors), body)
		}
	}
	return body
}

// untilLimited sends ex, a bad credential answered wantStatus, until the
// bad-credential limit answers 429 instead, checking every answer.
func (c *client) untilLimited(ex exchange) {
	c.t.Helper()
	for i := 0; i < 200; i++ {
		req := c.request(ex)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			c.t.Fatalf("%s: %v", ex.name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case ex.wantStatus:
			continue
		case http.StatusTooManyRequests:
			ex.wantStatus = http.StatusTooManyRequests
			c.do(ex)
			return
		default:
			c.t.Fatalf("%s: status %d, want %d or 429", ex.name, resp.StatusCode, ex.wantStatus)
		}
	}
	c.t.Errorf("%s: no 429 after 200 bad credentials", ex.name)
}

func schemaErrs[T interface{ Error() string }](es []T) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

// field reads one string field of a JSON object answer.
func field(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	s, _ := m[name].(string)
	if s == "" {
		t.Fatalf("answer %s has no %q", body, name)
	}
	return s
}

func admin() map[string]string { return map[string]string{"Authorization": "Bearer " + adminKey} }

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
