package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/schema"
)

// bearer reads the end user's access token.
func bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(tok)
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, d oauth.Decision) {
	if d.Status == http.StatusUnauthorized {
		if s.overLimit(w, r, classUser, bearer(r), false) {
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid."`)
	}
	writeError(w, r, d.Status, d.Code, http.StatusText(d.Status))
}

func (s *Server) usersMe(w http.ResponseWriter, r *http.Request) {
	u, d, err := s.cfg.Authorizer.Me(r.Context(), bearer(r), r.Header.Get("As-User"))
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	if !d.Allowed {
		s.refuse(w, r, d)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// authorizeBody is POST /v1/authorize's body.
type authorizeBody struct {
	Action     string          `json:"action"`
	Item       *schema.ItemRef `json:"item,omitempty"`
	Enterprise string          `json:"enterprise,omitempty"`
	Group      string          `json:"group,omitempty"`
	SharedLink string          `json:"shared_link,omitempty"`
	Explain    bool            `json:"explain,omitempty"`
}

// parseAuthorizeBody reads POST /v1/authorize's body into a request, naming
// the first bad field.
func parseAuthorizeBody(body []byte, token, asUser string) (oauth.AuthorizeRequest, error) {
	var b authorizeBody
	if err := decodeStrict(strings.NewReader(string(body)), &b); err != nil {
		return oauth.AuthorizeRequest{}, err
	}
	if b.Action == "" {
		return oauth.AuthorizeRequest{}, &checker.FieldError{Field: "action", Err: errors.New("required")}
	}
	req := oauth.AuthorizeRequest{
		Token: token, AsUser: asUser, Action: schema.Action(b.Action), Item: b.Item,
		Enterprise: b.Enterprise, Group: b.Group, Explain: b.Explain,
	}
	if b.SharedLink != "" {
		l, err := checker.ParseSharedLink(b.SharedLink)
		if err != nil {
			return req, &checker.FieldError{Field: "shared_link", Err: err}
		}
		req.SharedLink = &l
	}
	return req, req.Validate()
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	req, err := parseAuthorizeBody(body, bearer(r), r.Header.Get("As-User"))
	if err != nil {
		s.metrics.authorized(string(req.Action), oauth.Decision{}, err)
		s.badRequest(w, r, err)
		return
	}
	d, err := s.cfg.Authorizer.Authorize(r.Context(), req)
	s.metrics.authorized(string(req.Action), d, err)
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	if d.Status == http.StatusUnauthorized && s.overLimit(w, r, classUser, bearer(r), false) {
		return
	}
	writeJSON(w, http.StatusOK, d)
}
