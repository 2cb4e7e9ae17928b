package httpapi

import (
	"errors"
	"net/http"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
)

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
