package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/schema"
)

// Grant types of POST /oauth2/token.
const (
	grantRefresh  = "refresh_token"
	grantExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

func (s *Server) routeTokens() {
	s.mux.Handle("POST /v1/apps", s.admin(s.createApp))
	s.mux.Handle("GET /v1/apps/{id}", s.admin(s.getApp))
	s.mux.Handle("PUT /v1/apps/{id}", s.admin(s.updateApp))
	s.mux.Handle("DELETE /v1/apps/{id}", s.admin(s.deleteApp))
	s.mux.Handle("POST /v1/apps/{id}/secret", s.admin(s.rotateSecret))
	s.mux.Handle("PUT /v1/apps/{id}/enterprises/{enterprise}", s.admin(s.authorizeApp))
	s.mux.Handle("DELETE /v1/apps/{id}/enterprises/{enterprise}", s.admin(s.withdrawApp))
	s.mux.Handle("POST /v1/tokens", s.admin(s.issue))
	s.mux.HandleFunc("POST /oauth2/token", s.oauthToken)
	s.mux.HandleFunc("POST /oauth2/revoke", s.oauthRevoke)
	s.mux.HandleFunc("GET /2.0/users/me", s.usersMe)
	s.mux.HandleFunc("POST /v1/authorize", s.authorize)
}

// overLimit charges a bad credential to the caller's address (in its class)
// and to the credential itself. When either has spent its burst it answers
// 429 with Retry-After and reports true; otherwise the caller answers 401 as
// usual. A credential is checked before any limit applies, so a valid one is
// never refused, whatever else came from the same address.
func (s *Server) overLimit(w http.ResponseWriter, r *http.Request, class, credential string, oauth bool) bool {
	d := s.limiter.fail(class, clientAddr(r, s.cfg.TrustedProxies), credential)
	if d <= 0 {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
	msg := "too many invalid credentials from this client; retry later"
	if oauth {
		writeJSON(w, http.StatusTooManyRequests, oauthError{Error: "too_many_requests", Description: msg})
	} else {
		writeError(w, r, http.StatusTooManyRequests, "too_many_requests", msg)
	}
	return true
}

// --- applications ---

type appBody struct {
	ID     string   `json:"id"`
	Scopes []string `json:"scopes"`
	AsUser bool     `json:"as_user"`
}

func (s *Server) appFailed(w http.ResponseWriter, r *http.Request, err error) {
	var fe *checker.FieldError
	switch {
	case errors.As(err, &fe):
		s.badRequest(w, r, err)
	case errors.Is(err, oauth.ErrAppNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, oauth.ErrAppExists):
		writeError(w, r, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, oauth.ErrBuiltinApp):
		s.badRequest(w, r, err)
	case errors.Is(err, oauth.ErrAppNotAuthorized):
		writeError(w, r, http.StatusForbidden, "access_denied_insufficient_permissions", err.Error())
	default:
		s.internal(w, r, "changing applications", err)
	}
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	var b appBody
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	if b.ID == "" {
		s.badRequest(w, r, &checker.FieldError{Field: "id", Err: errors.New("required")})
		return
	}
	if b.Scopes == nil {
		s.badRequest(w, r, &checker.FieldError{Field: "scopes", Err: errors.New("required (may be empty)")})
		return
	}
	a, err := s.cfg.Authorizer.Tokens().CreateApp(r.Context(), b.ID, b.Scopes, b.AsUser)
	if err != nil {
		s.appFailed(w, r, err)
		return
	}
	noStore(w) // the answer carries the client secret
	writeJSON(w, http.StatusCreated, a)
}

// rotateSecret is POST /v1/apps/{id}/secret: a new client secret, shown
// once; the old one ends.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	a, err := s.cfg.Authorizer.Tokens().RotateClientSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		s.appFailed(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	a, err := s.cfg.Authorizer.Tokens().App(r.Context(), r.PathValue("id"))
	if err != nil {
		s.appFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) updateApp(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Scopes []string `json:"scopes"`
		AsUser *bool    `json:"as_user"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	a, err := s.cfg.Authorizer.Tokens().UpdateApp(r.Context(), r.PathValue("id"), b.Scopes, b.AsUser)
	if err != nil {
		s.appFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Authorizer.Tokens().DeleteApp(r.Context(), r.PathValue("id")); err != nil {
		s.appFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authorizeApp(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Authorizer.Tokens().AuthorizeApp(r.Context(), r.PathValue("id"), r.PathValue("enterprise")); err != nil {
		s.appFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) withdrawApp(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Authorizer.Tokens().WithdrawApp(r.Context(), r.PathValue("id"), r.PathValue("enterprise")); err != nil {
		s.appFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- tokens ---

// tokenAnswer is Box's token response.
type tokenAnswer struct {
	AccessToken     string              `json:"access_token"`
	ExpiresIn       int64               `json:"expires_in"`
	TokenType       string              `json:"token_type"`
	RefreshToken    string              `json:"refresh_token,omitempty"`
	RestrictedTo    []oauth.Restriction `json:"restricted_to"`
	IssuedTokenType string              `json:"issued_token_type,omitempty"`
}

func answerOf(is oauth.Issued) tokenAnswer {
	a := tokenAnswer{AccessToken: is.AccessToken, ExpiresIn: int64(is.ExpiresIn.Round(time.Second) / time.Second), TokenType: "bearer",
		RefreshToken: is.RefreshToken, RestrictedTo: is.RestrictedTo}
	if a.RestrictedTo == nil {
		a.RestrictedTo = []oauth.Restriction{}
	}
	if is.Downscoped {
		a.IssuedTokenType = oauth.TokenTypeAccess
	}
	return a
}

func noStore(w http.ResponseWriter) {
	// RFC 6749 §5.1: token responses must not be cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func (s *Server) issue(w http.ResponseWriter, r *http.Request) {
	var b struct {
		User   string   `json:"user"`
		Scopes []string `json:"scopes"`
		App    string   `json:"app"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	is, err := s.cfg.Authorizer.Tokens().Issue(r.Context(), oauth.IssueRequest{User: b.User, Scopes: b.Scopes, App: b.App})
	if err != nil {
		s.appFailed(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusCreated, answerOf(is))
}

// oauthError is the OAuth error shape of /oauth2/*.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// oauthFailed answers err. token is the token the caller presented and
// client the client credentials: a refused grant is charged to the
// bad-credential limit with the token, a failed client authentication with
// the client secret, and answered 401 with WWW-Authenticate (RFC 6749 §5.2).
func (s *Server) oauthFailed(w http.ResponseWriter, r *http.Request, token string, client oauth.ClientCredentials, err error) {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		switch oe.Code {
		case "invalid_grant":
			if s.overLimit(w, r, classUser, token, true) {
				return
			}
		case "invalid_client":
			if s.overLimit(w, r, classUser, client.Secret, true) {
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="boxauthz", charset="UTF-8"`)
			writeJSON(w, http.StatusUnauthorized, oauthError{Error: oe.Code, Description: oe.Description})
			return
		}
		writeJSON(w, http.StatusBadRequest, oauthError{Error: oe.Code, Description: oe.Description})
		return
	}
	s.cfg.Logger.ErrorContext(r.Context(), "token endpoint", "request_id", requestID(r.Context()), "error", err)
	writeJSON(w, http.StatusInternalServerError, oauthError{Error: "server_error", Description: "see the server log for request " + requestID(r.Context())})
}

// clientOf reads the client credentials of a token endpoint request: HTTP
// Basic, each part form-encoded first, or the client_id and client_secret
// form parameters (RFC 6749 §2.3.1). A request may use one way, not both;
// an Authorization header of another scheme is no client authentication
// boxauthz supports. No credentials at all is the zero value: the default
// application's client.
func clientOf(r *http.Request, f url.Values) (oauth.ClientCredentials, error) {
	_, formID := f["client_id"]
	_, formSecret := f["client_secret"]
	if r.Header.Get("Authorization") == "" {
		c := oauth.ClientCredentials{ID: f.Get("client_id"), Secret: f.Get("client_secret")}
		if c.ID == "" && c.Secret != "" {
			return c, &oauth.Error{Code: "invalid_request", Description: "client_secret given without client_id"}
		}
		return c, nil
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return oauth.ClientCredentials{}, &oauth.Error{Code: "invalid_client",
			Description: "Authorization: only HTTP Basic client authentication is accepted here (RFC 6749 §2.3.1)"}
	}
	if formID || formSecret {
		return oauth.ClientCredentials{}, &oauth.Error{Code: "invalid_request",
			Description: "client credentials given both by HTTP Basic and as client_id/client_secret parameters: use one (RFC 6749 §2.3.1)"}
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(id)
	secret, err2 = url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return oauth.ClientCredentials{}, &oauth.Error{Code: "invalid_request",
			Description: "Authorization: the Basic client id and secret are not form-encoded (RFC 6749 §2.3.1)"}
	}
	if id == "" {
		return oauth.ClientCredentials{}, &oauth.Error{Code: "invalid_client", Description: "Authorization: HTTP Basic without a client id"}
	}
	return oauth.ClientCredentials{ID: id, Secret: secret}, nil
}

// readForm reads an application/x-www-form-urlencoded body. Parameters it
// does not know are ignored (RFC 6749 §3.2: Box SDKs send box_device_id and
// box_device_name), but a known one given more than once is refused (§3.1),
// naming it: which of two values counts would be a guess.
func readForm(r *http.Request, known ...string) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("Content-Type %q: want application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("request body larger than %d bytes", mbe.Limit)
		}
		return nil, fmt.Errorf("malformed form body: %v", err)
	}
	if len(r.URL.Query()) > 0 {
		return nil, errors.New("parameters go in the form body, not the URL (a token in a URL ends up in logs)")
	}
	out := url.Values{}
	for _, k := range known {
		vs, ok := r.PostForm[k]
		if !ok {
			continue
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("parameter %q: given %d times, at most once allowed (RFC 6749 §3.1)", k, len(vs))
		}
		out[k] = vs
	}
	return out, nil
}

// tokenRequest is a parsed POST /oauth2/token form.
type tokenRequest struct {
	grant    string
	refresh  string
	exchange oauth.ExchangeRequest
}

// parseTokenForm reads the token endpoint's form; its errors are OAuth
// errors with the code to answer.
func parseTokenForm(f url.Values) (tokenRequest, error) {
	switch gt := f.Get("grant_type"); gt {
	case grantRefresh:
		if f.Get("refresh_token") == "" {
			return tokenRequest{}, &oauth.Error{Code: "invalid_request", Description: "refresh_token is required"}
		}
		return tokenRequest{grant: gt, refresh: f.Get("refresh_token")}, nil
	case grantExchange:
		if f.Get("subject_token_type") == "" {
			return tokenRequest{}, &oauth.Error{Code: "invalid_request", Description: "subject_token_type is required: want " + oauth.TokenTypeAccess}
		}
		if tt := f.Get("subject_token_type"); tt != oauth.TokenTypeAccess {
			return tokenRequest{}, &oauth.Error{Code: "invalid_request", Description: fmt.Sprintf("subject_token_type %q: want %s", tt, oauth.TokenTypeAccess)}
		}
		if f.Get("subject_token") == "" {
			return tokenRequest{}, &oauth.Error{Code: "invalid_request", Description: "subject_token is required"}
		}
		return tokenRequest{grant: gt, exchange: oauth.ExchangeRequest{SubjectToken: f.Get("subject_token"), Scopes: f.Get("scope"), Resource: f.Get("resource")}}, nil
	case "":
		return tokenRequest{}, &oauth.Error{Code: "invalid_request", Description: "grant_type is required"}
	default:
		return tokenRequest{}, &oauth.Error{Code: "unsupported_grant_type", Description: fmt.Sprintf("grant_type %q: want %s or %s", gt, grantRefresh, grantExchange)}
	}
}

func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	f, err := readForm(r, "grant_type", "refresh_token", "subject_token", "subject_token_type", "scope", "resource", "client_id", "client_secret")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: err.Error()})
		return
	}
	client, err := clientOf(r, f)
	if err != nil {
		s.oauthFailed(w, r, "", client, err)
		return
	}
	req, err := parseTokenForm(f)
	if err != nil {
		s.oauthFailed(w, r, "", client, err)
		return
	}
	tk := s.cfg.Authorizer.Tokens()
	var is oauth.Issued
	if req.grant == grantRefresh {
		is, err = tk.RefreshAs(r.Context(), client, req.refresh)
	} else {
		req.exchange.Client = client
		is, err = tk.Exchange(r.Context(), req.exchange)
	}
	if err != nil {
		s.oauthFailed(w, r, req.refresh+req.exchange.SubjectToken, client, err)
		return
	}
	writeJSON(w, http.StatusOK, answerOf(is))
}

func (s *Server) oauthRevoke(w http.ResponseWriter, r *http.Request) {
	f, err := readForm(r, "token", "token_type_hint", "client_id", "client_secret")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: err.Error()})
		return
	}
	client, err := clientOf(r, f)
	if err == nil {
		err = s.cfg.Authorizer.Tokens().RevokeAs(r.Context(), client, f.Get("token"))
	}
	if err != nil {
		s.oauthFailed(w, r, f.Get("token"), client, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

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
	req := oauth.AuthorizeRequest{Token: token, AsUser: asUser, Action: schema.Action(b.Action), Item: b.Item,
		Enterprise: b.Enterprise, Group: b.Group, Explain: b.Explain}
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
		s.badRequest(w, r, err)
		return
	}
	d, err := s.cfg.Authorizer.Authorize(r.Context(), req)
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	if d.Status == http.StatusUnauthorized && s.overLimit(w, r, classUser, bearer(r), false) {
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func contextWith(r *http.Request, k, v any) context.Context {
	return context.WithValue(r.Context(), k, v)
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, describeJSONError(err)
	}
	return b, nil
}
