package httpapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/boxauthz/boxauthz/checker/oauth"
)

// Grant types of POST /oauth2/token.
const (
	grantRefresh  = "refresh_token"
	grantExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

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
		return oauth.ClientCredentials{}, &oauth.Error{
			Code:        "invalid_client",
			Description: "Authorization: only HTTP Basic client authentication is accepted here (RFC 6749 §2.3.1)",
		}
	}
	if formID || formSecret {
		return oauth.ClientCredentials{}, &oauth.Error{
			Code:        "invalid_request",
			Description: "client credentials given both by HTTP Basic and as client_id/client_secret parameters: use one (RFC 6749 §2.3.1)",
		}
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(id)
	secret, err2 = url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return oauth.ClientCredentials{}, &oauth.Error{
			Code:        "invalid_request",
			Description: "Authorization: the Basic client id and secret are not form-encoded (RFC 6749 §2.3.1)",
		}
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
		return nil, fmt.Errorf("malformed form body: %w", err)
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
