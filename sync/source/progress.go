package source

import "os"

// Units of Progress.
const (
	UnitBytes = "bytes"
	UnitRows  = "rows"
)

// Progress is where a run of a source stands against what the source held
// when the run started, as WithProgress reports it.
type Progress struct {
	// Source is the name of the source's position.
	Source string
	// Position is how far the run has read: an offset into the file being
	// read, or the outbox rows the run has read.
	Position int64
	// Total is what the source held when the run started: the size of the
	// file it started in, or the outbox rows after the committed position.
	// 0 when not known (standard input, or once the run moved on to
	// another file).
	Total int64
	// Unit is what Position and Total count: UnitBytes or UnitRows.
	Unit string
	// Counts are the events the run handled so far.
	Counts
	// CaughtUp says the run has applied everything the source held when
	// it started (a file up to its size then, an outbox up to its largest
	// row id then), or found nothing new when it first looked. Once true,
	// it stays true for the run.
	CaughtUp bool
}

// runProgress reports a run's progress to WithProgress's function.
type runProgress struct {
	o        *options
	f        feed
	c        *Counts
	caughtUp bool
}

// report reports where the run stands; caughtUp says the source has
// nothing more to read now.
func (r *runProgress) report(caughtUp bool) {
	p := r.f.progress()
	if caughtUp || p.CaughtUp {
		r.caughtUp = true
	}
	p.Counts, p.CaughtUp = *r.c, r.caughtUp
	r.o.progress(p)
}

// idle reports the run caught up the first time the source has nothing
// more to read; later polls that find nothing report nothing.
func (r *runProgress) idle() {
	if !r.caughtUp {
		r.report(true)
	}
}

// target notes what the file the run starts in holds.
func (ff *fileFeed) target() {
	fi, err := ff.cur.fh.Stat()
	if err != nil {
		// Not known: the run catches up when it finds nothing more.
		return
	}
	ff.start, ff.total = ff.cur, fi.Size()
	at, err := os.Stat(ff.f.path)
	ff.startAtPath = err == nil && os.SameFile(fi, at)
}

func (ff *fileFeed) progress() Progress {
	p := Progress{Source: ff.f.name, Position: ff.cur.pos, Unit: UnitBytes}
	if ff.start != nil && ff.start == ff.cur {
		p.Total = ff.total
		p.CaughtUp = ff.startAtPath && ff.cur.pos >= ff.total
	}
	return p
}

var _ feed = (*fileFeed)(nil)
