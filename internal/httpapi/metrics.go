package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/schema"
)

// unmatchedRoute labels requests no route takes (404, 405), so that
// scanning arbitrary paths cannot grow the label set.
const unmatchedRoute = "unmatched"

// httpMetrics count requests by route (the pattern that took them, such as
// "POST /v1/check") and status, and time them by route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// checks and authorizations count decisions by action and outcome.
	checks         *prometheus.CounterVec
	authorizations *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_http_requests_total",
			Help: "HTTP requests answered, by route (method and path pattern, or unmatched) and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "boxauthz_http_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_check_decisions_total",
			Help: "Questions of /v1/check and /v1/check/bulk, by action (extension for a type of the schema extension, invalid when not one of the schema's) and outcome (allowed, denied, error).",
		}, []string{"action", "outcome"}),
		authorizations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_authorize_decisions_total",
			Help: "Decisions of /v1/authorize, by action (invalid when not one of the schema's) and outcome (allowed, denied_401, denied_403, denied_404, error).",
		}, []string{"action", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.checks, m.authorizations} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("http api: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *httpMetrics) observe(route string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = unmatchedRoute
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
}

// Decision outcomes. A question that was refused as malformed or could not
// be answered (SpiceDB failing) is an error: it was not decided.
const (
	outcomeAllowed = "allowed"
	outcomeDenied  = "denied"
	outcomeError   = "error"
	// invalidAction labels an action that is none of the schema's, so
	// that made-up actions cannot grow the label set.
	invalidAction = "invalid"
	// extensionAction labels every check of a schema extension's type:
	// its permission names are the user's, so they are not labels.
	extensionAction = "extension"
)

// actionLabel is a as a label value: one of the schema's actions (the 14
// item actions, manage_users, manage_groups) or invalidAction.
func actionLabel(a string) string {
	if _, err := schema.ParseAction(a); err != nil {
		return invalidAction
	}
	return a
}

func checkOutcome(allowed bool) string {
	if allowed {
		return outcomeAllowed
	}
	return outcomeDenied
}

// checkLabel is the action label of check b: extensionAction for a type
// the schema extension answers, else actionLabel.
func (s *Server) checkLabel(b checkBody) string {
	if s.extensionItem(b.Item.Type) {
		return extensionAction
	}
	return actionLabel(b.Action)
}

// bulkLabels are the action labels of a bulk request's checks.
func (s *Server) bulkLabels(checks []bulkCheckBody) []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = s.checkLabel(c.checkBody)
	}
	return out
}

// checked counts one question of /v1/check, labelled by checkLabel.
func (m *httpMetrics) checked(label, outcome string) {
	if m == nil {
		return
	}
	m.checks.WithLabelValues(label, outcome).Inc()
}

// checkedBulk counts each question of /v1/check/bulk: by its answer when
// the request was answered (as in order), else as an error.
func (m *httpMetrics) checkedBulk(labels []string, as []checker.Answer) {
	if m == nil {
		return
	}
	for i, label := range labels {
		outcome := outcomeError
		if i < len(as) {
			outcome = checkOutcome(as[i].Allowed)
		}
		m.checks.WithLabelValues(label, outcome).Inc()
	}
}

// authorized counts one decision of /v1/authorize; err is a request that
// was refused as malformed or failed. A refusal is labelled by the status
// Box would answer (docs/model.md §7 gives only 401, 403 and 404).
func (m *httpMetrics) authorized(action string, d oauth.Decision, err error) {
	if m == nil {
		return
	}
	outcome := outcomeAllowed
	switch {
	case err != nil:
		outcome = outcomeError
	case d.Allowed:
	case d.Status == http.StatusUnauthorized || d.Status == http.StatusForbidden || d.Status == http.StatusNotFound:
		outcome = "denied_" + strconv.Itoa(d.Status)
	default:
		outcome = outcomeDenied
	}
	m.authorizations.WithLabelValues(actionLabel(action), outcome).Inc()
}
