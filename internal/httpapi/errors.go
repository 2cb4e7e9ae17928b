package httpapi

import "net/http"

// boxError is Box's error shape.
type boxError struct {
	Type      string `json:"type"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// oauthError is the OAuth error shape of /oauth2/*.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeJSON(w, status, boxError{Type: "error", Status: status, Code: code, Message: msg, RequestID: requestID(r.Context())})
}

func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, doing string, err error) {
	s.cfg.Logger.ErrorContext(r.Context(), doing, "request_id", requestID(r.Context()), "error", err)
	writeError(w, r, http.StatusInternalServerError, "internal_server_error", doing+" failed; see the server log for request "+requestID(r.Context()))
}
