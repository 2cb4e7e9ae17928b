package sync

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sync pipeline's Prometheus metrics. Sources are labelled by
// name ("http" for requests that carry no position).
type Metrics struct {
	applied     *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	lagBytes    *prometheus.GaugeVec
	lagSeconds  *prometheus.GaugeVec
	batch       *prometheus.HistogramVec
	// An events file source's moves to another file or to the start of its
	// file, and whether it is stopped because its file cannot be found.
	fileSwitches *prometheus.CounterVec
	fileStop     *prometheus.GaugeVec
}

// NewMetrics registers the sync metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_sync_events_applied_total",
			Help: "Events written to SpiceDB.",
		}, []string{"source"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_sync_events_duplicate_total",
			Help: "Events skipped because their id was already applied.",
		}, []string{"source"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_sync_dead_letters_total",
			Help: "Bad events set aside in a dead-letter file or table.",
		}, []string{"source"}),
		lagBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "boxauthz_sync_source_lag_bytes",
			Help: "Bytes of an events file not yet applied.",
		}, []string{"source"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "boxauthz_sync_source_lag_seconds",
			Help: "Age of the oldest outbox row not yet applied, at the last poll.",
		}, []string{"source"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "boxauthz_sync_batch_duration_seconds",
			Help: "Time to validate and write one batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"source"}),
		fileSwitches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_sync_file_switches_total",
			Help: "Times an events file source moved on to another file or the start of its file: rotated (renamed away, finished), truncated (cut or rewritten in place), restarted (--restart-replaced).",
		}, []string{"source", "reason"}),
		fileStop: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "boxauthz_sync_file_stopped",
			Help: "1 while an events file source is stopped because the file at its path is not the one its position names and that one is not found.",
		}, []string{"source"}),
	}
	for _, c := range []prometheus.Collector{m.applied, m.duplicates, m.deadLetters, m.lagBytes, m.lagSeconds, m.batch, m.fileSwitches, m.fileStop} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// WithMetrics records the Applier's work, and that of the sources using it.
func WithMetrics(m *Metrics) Option { return func(a *Applier) { a.metrics = m } }

// Metrics are the metrics the Applier records, for the sources using it to
// record theirs; nil (whose methods record nothing) without WithMetrics.
func (a *Applier) Metrics() *Metrics { return a.metrics }

func label(source string) string {
	if source == "" {
		return "http"
	}
	return source
}

func (m *Metrics) observeBatch(source string, res Result, took time.Duration) {
	if m == nil {
		return
	}
	l := label(source)
	m.applied.WithLabelValues(l).Add(float64(res.Applied))
	m.duplicates.WithLabelValues(l).Add(float64(res.Duplicates))
	m.batch.WithLabelValues(l).Observe(took.Seconds())
}

// DeadLettered counts n bad events set aside by a source.
func (m *Metrics) DeadLettered(source string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.deadLetters.WithLabelValues(label(source)).Add(float64(n))
}

// Lag sets how far a source is behind: bytes of a file not yet applied,
// the age of the oldest row not yet applied; a negative value leaves its
// gauge as it is.
func (m *Metrics) Lag(source string, bytes int64, age time.Duration) {
	if m == nil {
		return
	}
	if bytes >= 0 {
		m.lagBytes.WithLabelValues(label(source)).Set(float64(bytes))
	}
	if age >= 0 {
		m.lagSeconds.WithLabelValues(label(source)).Set(age.Seconds())
	}
}

// FileSwitched counts an events file source moving to another file or
// the start of its file, for reason (rotated, truncated, restarted).
func (m *Metrics) FileSwitched(source, reason string) {
	if m == nil {
		return
	}
	m.fileSwitches.WithLabelValues(label(source), reason).Inc()
}

// FileStopped sets whether an events file source is stopped because its
// file cannot be found.
func (m *Metrics) FileStopped(source string, stopped bool) {
	if m == nil {
		return
	}
	v := 0.0
	if stopped {
		v = 1
	}
	m.fileStop.WithLabelValues(label(source)).Set(v)
}
