package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
	"github.com/boxauthz/boxauthz/sync/source"
)

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.badRequest(w, r, describeJSONError(err))
		return
	}
	evs, err := event.DecodeEvents(body, ct == "application/x-ndjson")
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	res, err := s.cfg.Applier.Apply(r.Context(), evs)
	if err != nil {
		var ee *event.Error
		if errors.As(err, &ee) {
			writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		s.eventsFailed(w, r, len(evs), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"applied": res.Applied, "duplicates": res.Duplicates, "consistency_token": res.Token.GetToken()})
}

// eventsFailed answers a batch that failed after validation. A batch larger
// than one SpiceDB write is several transactions, so part of it may be in
// SpiceDB: context_info (Box's place for an error's details) names the ids
// of the events applied, and of those a lost answer leaves unknown, so the
// caller knows what sending the request again (which skips applied ids)
// will do.
func (s *Server) eventsFailed(w http.ResponseWriter, r *http.Request, total int, err error) {
	s.cfg.Logger.ErrorContext(r.Context(), "applying events", "request_id", requestID(r.Context()), "error", err)
	info := map[string]any{"applied": []string{}, "unknown": []string{}}
	var pe *sync.PartialError
	if errors.As(err, &pe) {
		if pe.Applied != nil {
			info["applied"] = pe.Applied
		}
		if pe.Unknown != nil {
			info["unknown"] = pe.Unknown
		}
		if pe.Partly != "" {
			info["partly_applied"] = pe.Partly
		}
	}
	msg := fmt.Sprintf("applying events failed after %d of %d were applied (context_info.applied names them; sending the request again skips them and applies the rest); see the server log for request %s",
		len(info["applied"].([]string)), total, requestID(r.Context()))
	writeJSON(w, http.StatusInternalServerError, map[string]any{
		"type": "error", "status": http.StatusInternalServerError,
		"code": "internal_server_error", "message": msg, "request_id": requestID(r.Context()), "context_info": info,
	})
}

// boxWebhook applies a Box webhook v2 delivery. Box retries anything but a
// 2xx, so a delivery that can never apply is set aside in the dead-letter
// file and acknowledged; only a failure worth retrying (SpiceDB down) is not.
func (s *Server) boxWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.badRequest(w, r, describeJSONError(err))
		return
	}
	if err := source.VerifyWebhook(r.Header, body, s.cfg.WebhookKeys, s.cfg.Now()); err != nil {
		writeError(w, r, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	evs, err := source.TranslateWebhook(body)
	if errors.Is(err, source.ErrIgnoredTrigger) {
		writeJSON(w, http.StatusOK, map[string]any{"applied": 0, "ignored": true})
		return
	}
	if err == nil {
		var res sync.Result
		res, err = s.cfg.Applier.Apply(r.Context(), evs)
		var ee *event.Error
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"applied": res.Applied, "duplicates": res.Duplicates, "consistency_token": res.Token.GetToken()})
			return
		}
		if !errors.As(err, &ee) {
			s.internal(w, r, "applying webhook", err)
			return
		}
	}
	d := source.DeadLetter{Source: "webhooks/box", EventID: r.Header.Get("BOX-DELIVERY-ID"), Error: err.Error(), At: s.cfg.Now().UTC()}
	if json.Valid(body) {
		d.Line = body
	} else {
		d.Raw = string(body)
	}
	if derr := source.AppendDeadLetters(s.cfg.WebhookDeadLetter, []source.DeadLetter{d}, s.cfg.Logger); derr != nil {
		s.internal(w, r, "setting a webhook aside", derr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"applied": 0, "dead_lettered": true, "error": err.Error()})
}
