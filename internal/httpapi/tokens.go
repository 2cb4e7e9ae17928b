package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/boxauthz/boxauthz/checker/oauth"
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
	a := tokenAnswer{
		AccessToken: is.AccessToken, ExpiresIn: int64(is.ExpiresIn.Round(time.Second) / time.Second), TokenType: "bearer",
		RefreshToken: is.RefreshToken, RestrictedTo: is.RestrictedTo,
	}
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
