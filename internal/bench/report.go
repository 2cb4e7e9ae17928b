package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a run's outcome. Its JSON form is what `boxauthz bench --json`
// prints.
type Report struct {
	Size          string    `json:"size"`
	Seed          uint64    `json:"seed"`
	SpiceDB       string    `json:"spicedb"`
	DispatchCache string    `json:"dispatch_cache"`
	CPUs          int       `json:"cpus"`
	Started       time.Time `json:"started"`
	TookSeconds   float64   `json:"took_s"`

	Relationships  int `json:"relationships"`
	Folders        int `json:"folders"`
	Files          int `json:"files"`
	Collaborations int `json:"collaborations"`
	// LoadSeconds is the load of the data set for boxauthz's schema (with
	// the placements chain checks read); NaiveLoadSeconds the naive one's.
	LoadSeconds      float64 `json:"load_s"`
	NaiveLoadSeconds float64 `json:"naive_load_s,omitempty"`
	// NaiveSkipped says why the naive schema was not measured.
	NaiveSkipped string `json:"naive_skipped,omitempty"`

	Rows []Row `json:"rows"`
	// Lookups is the lookup of items of the data set's widest user.
	Lookups *Lookups `json:"lookups,omitempty"`

	// ChainConfirmed and ChainUnconfirmed are the checker's chain counts
	// (checker.ChainCounts): unconfirmed ones were asked again the
	// recursive way.
	ChainConfirmed   uint64 `json:"chain_checks_confirmed"`
	ChainUnconfirmed uint64 `json:"chain_checks_unconfirmed"`
	// Agreement compares boxauthz's answers with the other ways'.
	Agreement struct {
		Raw   Agreement `json:"raw"`
		Naive Agreement `json:"naive"`
	} `json:"agreement"`

	MemoryAfterLoad Memory `json:"memory_after_load"`
	MemoryAtEnd     Memory `json:"memory_at_end"`
}

// Row is one depth band at one concurrency, every way asked the same
// questions.
type Row struct {
	Depth       string `json:"depth"`
	Concurrency int    `json:"concurrency"`
	Questions   int    `json:"questions"`
	// CutShort is set when the row's time limit ended it before all its
	// questions were asked.
	CutShort bool  `json:"cut_short"`
	Boxauthz *Cell `json:"boxauthz"`
	Raw      *Cell `json:"raw"`
	Naive    *Cell `json:"naive,omitempty"`
	// VsRaw and VsNaive are boxauthz's checks per second over the other
	// way's: above 1, boxauthz answered more.
	VsRaw   float64 `json:"boxauthz_per_raw"`
	VsNaive float64 `json:"boxauthz_per_naive,omitempty"`
}

// Cell is one way's measurement in a row.
type Cell struct {
	Checks  int     `json:"checks"`
	Granted int     `json:"granted"`
	Errors  int     `json:"errors"`
	P50Ms   float64 `json:"p50_ms"`
	P95Ms   float64 `json:"p95_ms"`
	PerSec  float64 `json:"checks_per_s"`
}

// Agreement counts questions two ways both answered, and those they
// answered differently (which must be none).
type Agreement struct {
	Compared int `json:"compared"`
	Differ   int `json:"differ"`
}

// Memory is this process's resident memory (VmRSS) and its peak (VmHWM),
// from /proc/self/status; zero where that file does not exist. With an
// embedded SpiceDB it includes the datastore.
type Memory struct {
	RSSBytes  int64 `json:"vm_rss_bytes"`
	PeakBytes int64 `json:"vm_hwm_bytes"`
}

func readMemory() Memory {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Memory{}
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			m.RSSBytes = kb << 10
		case "VmHWM:":
			m.PeakBytes = kb << 10
		}
	}
	return m
}

func (m Memory) String() string {
	if m.RSSBytes == 0 {
		return "unknown (no /proc/self/status)"
	}
	return fmt.Sprintf("VmRSS %s, peak VmHWM %s", mib(m.RSSBytes), mib(m.PeakBytes))
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// WriteText writes the report as a readable table.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Data set %s (seed %d): %d relationships, %d folders, %d files, %d collaborations.\n",
		r.Size, r.Seed, r.Relationships, r.Folders, r.Files, r.Collaborations)
	fmt.Fprintf(&b, "SpiceDB: %s, dispatch cache %s. %d CPUs.\n", r.SpiceDB, r.DispatchCache, r.CPUs)
	fmt.Fprintf(&b, "Load: %.1f s (%.0f relationships/s)", r.LoadSeconds, perSec(r.Relationships, r.LoadSeconds))
	if r.NaiveSkipped == "" {
		fmt.Fprintf(&b, "; naive schema: %.1f s", r.NaiveLoadSeconds)
	}
	b.WriteString(".\n\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "depth\tconc\tchecks\tboxauthz p50/p95/checks/s\traw p50/p95/checks/s\tnaive p50/p95/checks/s\tboxauthz/raw\tboxauthz/naive")
	for _, row := range r.Rows {
		n := strconv.Itoa(row.Questions)
		if row.CutShort {
			n += "*"
		}
		naive, vsNaive := "skipped", "-"
		if row.Naive != nil {
			naive, vsNaive = row.Naive.String(), fmt.Sprintf("%.2fx", row.VsNaive)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.2fx\t%s\n", row.Depth, row.Concurrency, n, row.Boxauthz, row.Raw, naive, row.VsRaw, vsNaive)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\nRatios are of checks per second: above 1, boxauthz answered more. Every way of a row answered the same\n" +
		"questions, none asked twice, interleaved in rounds; boxauthz and raw share one SpiceDB.\n")
	for _, row := range r.Rows {
		if row.CutShort {
			b.WriteString("* the row's time limit (--cell-time) ended it before all its questions were asked.\n")
			break
		}
	}
	if r.NaiveSkipped != "" {
		fmt.Fprintf(&b, "Naive skipped: %s.\n", r.NaiveSkipped)
	}
	fmt.Fprintf(&b, "Chain checks: %d confirmed, %d unconfirmed (asked again the recursive way).\n", r.ChainConfirmed, r.ChainUnconfirmed)
	fmt.Fprintf(&b, "Answers: boxauthz and raw differ on %d of %d", r.Agreement.Raw.Differ, r.Agreement.Raw.Compared)
	if r.NaiveSkipped == "" {
		fmt.Fprintf(&b, ", boxauthz and naive on %d of %d", r.Agreement.Naive.Differ, r.Agreement.Naive.Compared)
	}
	b.WriteString(".\n")
	if l := r.Lookups; l != nil {
		fmt.Fprintf(&b, "\nLookup of the files user %s may %s (%d by the model), median of %d:\n", l.User, l.Action, l.Expected, l.Rounds)
		ltw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(ltw, "way\titems\tfirst page\tall")
		for _, w := range []struct {
			name string
			c    *LookupCell
		}{{Boxauthz, l.Boxauthz}, {Raw, l.Raw}, {Naive, l.Naive}} {
			if w.c != nil {
				fmt.Fprintf(ltw, "%s\t%s\n", w.name, w.c)
			}
		}
		if err := ltw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&b, "boxauthz's lookup got %d files wrong against the model.\n", l.Wrong)
		if wc := l.WhoCan; wc != nil && wc.Error != "" {
			fmt.Fprintf(&b, "Who may download a deep file: error: %s.\n", wc.Error)
		} else if wc != nil {
			fmt.Fprintf(&b, "Who may download a deep file (%d files, p50): boxauthz %s, raw %s; the users differ on %d.\n", wc.Items, ms(wc.BoxauthzMs), ms(wc.RawMs), wc.Differ)
		}
	}
	fmt.Fprintf(&b, "Memory after load: %s; at the end: %s.\n", r.MemoryAfterLoad, r.MemoryAtEnd)
	fmt.Fprintf(&b, "Took %.0f s.\n", r.TookSeconds)
	_, err := w.Write(b.Bytes())
	return err
}

func (c *LookupCell) String() string {
	if c.Error != "" {
		return fmt.Sprintf("-\t-\terror: %s", c.Error)
	}
	return fmt.Sprintf("%d\t%s\t%s", c.Items, ms(c.FirstPageMs), ms(c.TotalMs))
}

func (c *Cell) String() string {
	s := fmt.Sprintf("%s / %s / %.0f", ms(c.P50Ms), ms(c.P95Ms), c.PerSec)
	if c.Errors > 0 {
		s += fmt.Sprintf(" (%d errors)", c.Errors)
	}
	return s
}

func ms(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f ms", x)
	case x >= 10:
		return fmt.Sprintf("%.1f ms", x)
	default:
		return fmt.Sprintf("%.2f ms", x)
	}
}

func perSec(n int, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return float64(n) / s
}
