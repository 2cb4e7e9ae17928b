package httpapi

import (
	"errors"
	"net/http"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

// checkBody is one graph check as docs/api.md spells it.
type checkBody struct {
	User             string         `json:"user"`
	Action           string         `json:"action"`
	Item             schema.ItemRef `json:"item"`
	SharedLink       string         `json:"shared_link,omitempty"`
	ConsistencyToken string         `json:"consistency_token,omitempty"`
	Explain          bool           `json:"explain,omitempty"`
}

// MaxCheckIDLength bounds the correlation id a bulk check may carry.
const MaxCheckIDLength = 128

// bulkCheckBody is one check of a bulk request: a check and the caller's
// optional id, echoed in its result so results need not be matched by
// position alone.
type bulkCheckBody struct {
	checkBody
	ID string `json:"id,omitempty"`
}

func (b checkBody) question() (checker.Question, error) {
	q := checker.Question{User: b.User, Action: schema.Action(b.Action), Item: b.Item}
	if b.Action == "" {
		return q, &checker.FieldError{Field: "action", Err: errors.New("required")}
	}
	if b.Item.Type == "" && b.Item.ID == "" {
		return q, &checker.FieldError{Field: "item", Err: errors.New("required")}
	}
	if b.SharedLink != "" {
		l, err := checker.ParseSharedLink(b.SharedLink)
		if err != nil {
			return q, &checker.FieldError{Field: "shared_link", Err: err}
		}
		q.SharedLink = &l
	}
	return q, q.Validate()
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var b checkBody
	outcome := outcomeError
	defer func() { s.metrics.checked(s.checkLabel(b), outcome) }()
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	if s.extensionItem(b.Item.Type) {
		outcome = s.checkExtension(w, r, b)
		return
	}
	q, err := b.question()
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	ans, err := s.cfg.Checker.Check(r.Context(), q, checker.Consistency{Token: b.ConsistencyToken})
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	out := map[string]any{"allowed": ans.Allowed, "consistency_token": ans.ConsistencyToken}
	if b.Explain {
		ex, err := s.cfg.Checker.Explain(r.Context(), q, checker.Consistency{Token: b.ConsistencyToken})
		if err != nil {
			s.checkFailed(w, r, err)
			return
		}
		out["explanation"] = ex
	}
	outcome = checkOutcome(ans.Allowed)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) checkFailed(w http.ResponseWriter, r *http.Request, err error) {
	var fe *checker.FieldError
	if errors.As(err, &fe) {
		s.badRequest(w, r, err)
		return
	}
	s.internal(w, r, "checking", err)
}

// bulkResult is one answer of a bulk check, with the id its check carried.
type bulkResult struct {
	ID      string `json:"id,omitempty"`
	Allowed bool   `json:"allowed"`
}

func (s *Server) lookupItems(w http.ResponseWriter, r *http.Request) {
	var b struct {
		User             string `json:"user"`
		Action           string `json:"action"`
		Type             string `json:"type"`
		Limit            int    `json:"limit,omitempty"`
		Cursor           string `json:"cursor,omitempty"`
		ConsistencyToken string `json:"consistency_token,omitempty"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	if s.extensionItem(b.Type) {
		page, err := s.cfg.Extension.LookupItems(r.Context(), b.User, b.Action, b.Type, b.Limit, b.Cursor, checker.Consistency{Token: b.ConsistencyToken})
		s.writeItemPage(w, r, page, err)
		return
	}
	act, err := schema.ParseAction(b.Action)
	if err != nil {
		s.badRequest(w, r, &checker.FieldError{Field: "action", Err: err})
		return
	}
	page, err := s.cfg.Checker.LookupItems(r.Context(), b.User, act, b.Type, b.Limit, b.Cursor, checker.Consistency{Token: b.ConsistencyToken})
	s.writeItemPage(w, r, page, err)
}

func (s *Server) writeItemPage(w http.ResponseWriter, r *http.Request, page checker.ItemPage, err error) {
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	out := map[string]any{"items": page.Items}
	if page.Cursor != "" {
		out["cursor"] = page.Cursor
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) lookupUsers(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Item             schema.ItemRef `json:"item"`
		Action           string         `json:"action"`
		Limit            int            `json:"limit,omitempty"`
		Cursor           string         `json:"cursor,omitempty"`
		ConsistencyToken string         `json:"consistency_token,omitempty"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	if s.extensionItem(b.Item.Type) {
		page, err := s.cfg.Extension.LookupUsers(r.Context(), b.Item, b.Action, b.Limit, b.Cursor, checker.Consistency{Token: b.ConsistencyToken})
		s.writeUserPage(w, r, page, err)
		return
	}
	act, err := schema.ParseAction(b.Action)
	if err != nil {
		s.badRequest(w, r, &checker.FieldError{Field: "action", Err: err})
		return
	}
	page, err := s.cfg.Checker.LookupUsers(r.Context(), b.Item, act, b.Limit, b.Cursor, checker.Consistency{Token: b.ConsistencyToken})
	s.writeUserPage(w, r, page, err)
}

func (s *Server) writeUserPage(w http.ResponseWriter, r *http.Request, page checker.UserPage, err error) {
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	out := map[string]any{"users": page.Users}
	if page.Cursor != "" {
		out["cursor"] = page.Cursor
	}
	writeJSON(w, http.StatusOK, out)
}
