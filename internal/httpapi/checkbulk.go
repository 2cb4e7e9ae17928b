package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/boxauthz/boxauthz/checker"
)

// bulkPlan is a bulk request split by who answers each check: the Box
// checker or the schema extension, with each check's place in the request
// so the answers go back in request order.
type bulkPlan struct {
	box, ext       []int
	boxQs          []checker.Question
	extQs          []checker.ExtensionQuestion
	boxAns, extAns []checker.Answer
}

func (s *Server) checkBulk(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Checks           []bulkCheckBody `json:"checks"`
		ConsistencyToken string          `json:"consistency_token,omitempty"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	var answered []checker.Answer
	defer func() { s.metrics.checkedBulk(s.bulkLabels(b.Checks), answered) }()
	if len(b.Checks) == 0 {
		s.badRequest(w, r, &checker.FieldError{Field: "checks", Err: errors.New("required: at least one check")})
		return
	}
	var p bulkPlan
	for i, c := range b.Checks {
		if err := s.planCheck(&p, i, c); err != nil {
			var fe *checker.FieldError
			if errors.As(err, &fe) {
				fe.Field = strings.TrimSuffix("checks["+strconv.Itoa(i)+"]."+fe.Field, ".")
			}
			s.badRequest(w, r, err)
			return
		}
	}
	as, err := s.answerBulk(r, &p, checker.Consistency{Token: b.ConsistencyToken})
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	results := make([]bulkResult, len(as))
	for i, a := range as {
		results[i] = bulkResult{ID: b.Checks[i].ID, Allowed: a.Allowed}
	}
	answered = as
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "consistency_token": bulkToken(&p)})
}

// planCheck validates check i as /v1/check would and adds it to p; a
// refusal is a *FieldError on a field of the check, or on the check itself
// when the field is "".
func (s *Server) planCheck(p *bulkPlan, i int, c bulkCheckBody) error {
	if c.ConsistencyToken != "" || c.Explain {
		return &checker.FieldError{Field: "", Err: errors.New("consistency_token and explain go on the request, not on one check")}
	}
	if n := utf8.RuneCountInString(c.ID); n > MaxCheckIDLength {
		return &checker.FieldError{Field: "id", Err: fmt.Errorf("%d characters, want at most %d", n, MaxCheckIDLength)}
	}
	if s.extensionItem(c.Item.Type) {
		q, err := c.extensionQuestion()
		if err == nil {
			err = s.cfg.Extension.Validate(q)
		}
		if err != nil {
			return err
		}
		p.ext, p.extQs = append(p.ext, i), append(p.extQs, q)
		return nil
	}
	q, err := c.question()
	if err != nil {
		return err
	}
	p.box, p.boxQs = append(p.box, i), append(p.boxQs, q)
	return nil
}

// answerBulk answers p's checks and returns the answers in request order.
// The extension's checks are asked at least as fresh as the Box answers,
// so the request's one consistency token covers both.
func (s *Server) answerBulk(r *http.Request, p *bulkPlan, cons checker.Consistency) ([]checker.Answer, error) {
	out := make([]checker.Answer, len(p.box)+len(p.ext))
	if len(p.boxQs) > 0 {
		as, err := s.cfg.Checker.CheckBulk(r.Context(), p.boxQs, cons)
		if err != nil {
			return nil, err
		}
		p.boxAns = as
		if len(as) > 0 && as[0].ConsistencyToken != "" {
			cons = checker.Consistency{Token: as[0].ConsistencyToken}
		}
	}
	if len(p.extQs) > 0 {
		as, err := s.cfg.Extension.CheckBulk(r.Context(), p.extQs, cons)
		if err != nil {
			return nil, err
		}
		p.extAns = as
	}
	for j, i := range p.box {
		out[i] = p.boxAns[j]
	}
	for j, i := range p.ext {
		out[i] = p.extAns[j]
	}
	return out, nil
}

// bulkToken is the consistency token of the freshest answers: the
// extension's when there are any, as they were asked after the Box ones.
func bulkToken(p *bulkPlan) string {
	for _, as := range [][]checker.Answer{p.extAns, p.boxAns} {
		if len(as) > 0 {
			return as[len(as)-1].ConsistencyToken
		}
	}
	return ""
}
