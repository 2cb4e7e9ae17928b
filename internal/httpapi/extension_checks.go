package httpapi

import (
	"errors"
	"net/http"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

// WithExtension answers POST /v1/check for the types a schema extension
// adds: item.type one of them, action one of its permissions. Checks of
// folders and files are unchanged; without it, as without an extension,
// any other item type is refused as before.
func WithExtension(e *checker.Extension) Option { return func(c *config) { c.Extension = e } }

// extensionItem tells whether a check of typ goes to the extension: any
// type but folder and file once one is loaded, so that an unknown type is
// refused naming the extension's types too.
func (s *Server) extensionItem(typ string) bool {
	return s.cfg.Extension != nil && typ != schema.TypeFolder && typ != schema.TypeFile
}

// checkExtension answers one check of an extension type and returns the
// outcome for the metrics. Explanations follow Box's decision order and
// say nothing of an extension's permissions, so they are refused.
func (s *Server) checkExtension(w http.ResponseWriter, r *http.Request, b checkBody) string {
	if b.Explain {
		s.badRequest(w, r, &checker.FieldError{Field: "explain", Err: errors.New("explanations cover folders and files only, not types of the schema extension")})
		return outcomeError
	}
	q, err := b.extensionQuestion()
	if err != nil {
		s.badRequest(w, r, err)
		return outcomeError
	}
	ans, err := s.cfg.Extension.Check(r.Context(), q, checker.Consistency{Token: b.ConsistencyToken})
	if err != nil {
		s.checkFailed(w, r, err)
		return outcomeError
	}
	writeJSON(w, http.StatusOK, map[string]any{"allowed": ans.Allowed, "consistency_token": ans.ConsistencyToken})
	return checkOutcome(ans.Allowed)
}

// extensionQuestion is b as a question on an extension type; the
// extension validates the type, permission and ids.
func (b checkBody) extensionQuestion() (checker.ExtensionQuestion, error) {
	q := checker.ExtensionQuestion{User: b.User, Type: b.Item.Type, ID: b.Item.ID, Permission: b.Action}
	if b.Action == "" {
		return q, &checker.FieldError{Field: "action", Err: errors.New("required")}
	}
	if b.SharedLink != "" {
		l, err := checker.ParseSharedLink(b.SharedLink)
		if err != nil {
			return q, &checker.FieldError{Field: "shared_link", Err: err}
		}
		q.SharedLink = &l
	}
	return q, nil
}
