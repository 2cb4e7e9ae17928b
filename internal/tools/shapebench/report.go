package shapebench

import (
	"fmt"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/internal/bench/synth"
)

func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}

func cacheName(on bool) string {
	if on {
		return "on"
	}
	return "off (cold)"
}

// Markdown renders the report as markdown tables.
func (r *Report) Markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Machine: %d CPUs (`nproc`), %s, %s RAM, %s, Go %s, SpiceDB %s. Run started %s, took %v.\n",
		m.NumCPU, m.CPU, m.Memory, m.OS, m.Go, m.SpiceDB, r.Started.UTC().Format(time.RFC3339), r.Took.Round(time.Second))
	if len(r.LoadAvg) > 0 {
		fmt.Fprintf(&b, "Load average (1/5/15 min) during the run: %s.\n", strings.Join(r.LoadAvg, "; "))
	}
	b.WriteString("\n")
	if len(r.DataStats) > 0 {
		r.writeData(&b)
	}
	if len(r.Loads) > 0 {
		r.writeLoads(&b)
	}
	if len(r.Cells) > 0 {
		r.writeCells(&b)
	}
	r.writeEquivalence(&b)
	return b.String()
}

// writeData is the table of what each datastore held.
func (r *Report) writeData(b *strings.Builder) {
	b.WriteString("| datastore | relationships | + ancestor rels (ancestors shape) | folders | files | collaborations (group) | trashed | links | items 1-5 / 25-30 deep |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, st := range []string{"memory", "postgres"} {
		s, ok := r.DataStats[st]
		if !ok {
			continue
		}
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d (%d) | %d | %d | %d / %d |\n", st, s.Relationships, s.AncestorRels, s.Folders, s.Files,
			s.Collabs, s.GroupCollabs, s.Trashed, s.Links, s.ItemsByBucket[synth.BucketShallow], s.ItemsByBucket[synth.BucketDeep])
	}
	b.WriteString("\n")
}

// writeLoads is the table of the data loads.
func (r *Report) writeLoads(b *strings.Builder) {
	b.WriteString("| datastore | shape | relationships loaded | load time | relationships/s |\n|---|---|---|---|---|\n")
	for _, l := range r.Loads {
		fmt.Fprintf(b, "| %s | %s | %d | %.1f s | %.0f |\n", l.Store, l.Shape, l.Relationships, l.Duration.Seconds(), float64(l.Relationships)/l.Duration.Seconds())
	}
	b.WriteString("\n")
}

// writeCells is the table of measurements, a row per datastore, cache
// mode, depth and concurrency with a column per shape.
func (r *Report) writeCells(b *strings.Builder) {
	shapes := r.Config.Shapes
	b.WriteString("Each cell: p50 / p95 latency / checks per second. Every shape of a row answered the same N questions (none asked twice of one SpiceDB; granted = answered yes), interleaved in rounds.\n\n")
	b.WriteString("| datastore | SpiceDB caches | depth | concurrency |")
	for _, s := range shapes {
		fmt.Fprintf(b, " %s |", s)
	}
	b.WriteString(" N | granted |\n|---|---|---|---|")
	for range shapes {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	type key struct {
		store  string
		cache  bool
		bucket string
		conc   int
	}
	var keys []key
	byKey := map[key]map[Shape]Cell{}
	for _, c := range r.Cells {
		k := key{c.Store, c.Cache, c.Bucket, c.Conc}
		if byKey[k] == nil {
			byKey[k] = map[Shape]Cell{}
			keys = append(keys, k)
		}
		byKey[k][c.Shape] = c
	}
	for _, k := range keys {
		fmt.Fprintf(b, "| %s | %s | %s | %d |", k.store, cacheName(k.cache), k.bucket, k.conc)
		var ns, gs []string
		for _, s := range shapes {
			c, ok := byKey[k][s]
			if !ok {
				b.WriteString(" - |")
				continue
			}
			mark := ""
			if c.CutShort {
				mark = "†"
			}
			if c.Errors > 0 {
				mark += fmt.Sprintf(" (%d errors)", c.Errors)
			}
			fmt.Fprintf(b, " %s / %s / %.0f%s |", ms(c.P50), ms(c.P95), c.PerSec, mark)
			ns = append(ns, fmt.Sprint(c.N))
			gs = append(gs, fmt.Sprint(c.Granted))
		}
		fmt.Fprintf(b, " %s | %s |\n", strings.Join(uniq(ns), "/"), strings.Join(uniq(gs), "/"))
	}
	b.WriteString("\n† the row's time limit ended it before all its questions were asked.\n\n")
}

// writeEquivalence is each datastore's equivalence verdict.
func (r *Report) writeEquivalence(b *strings.Builder) {
	for _, st := range []string{"memory", "postgres"} {
		if e, ok := r.Equivalence[st]; ok {
			verdict := "all answers equal"
			if !e.OK() {
				verdict = "ANSWERS DIFFER"
			}
			fmt.Fprintf(b, "Equivalence on %s: %s: %s.\n", st, verdict, e.Summary())
			for k, ms := range e.Mismatches {
				for _, x := range ms {
					if x != "" {
						fmt.Fprintf(b, "  - %s differs: %s\n", k, x)
					}
				}
			}
		}
	}
}

func uniq(xs []string) []string {
	var out []string
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}
