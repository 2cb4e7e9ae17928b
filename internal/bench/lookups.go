package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/caveats"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/bench/synth"
	"github.com/boxauthz/boxauthz/schema"
)

// lookupRounds is how often each way looks the widest user's files up; the
// report keeps the median.
const lookupRounds = 3

// Lookups is the lookup of every file the data set's widest user may
// preview (synth.Dataset.Wide, at least 10,000 in the default data set),
// each way in turn.
type Lookups struct {
	User   string `json:"user"`
	Action string `json:"action"`
	// Expected is the number of files the model gives the user.
	Expected int `json:"expected"`
	Rounds   int `json:"rounds"`
	// Boxauthz is checker.LookupItems, every page of DefaultLookupLimit
	// items; Raw is SpiceDB's LookupResources of the same permission read
	// to the end, Naive the same on the naive schema.
	Boxauthz *LookupCell `json:"boxauthz"`
	Raw      *LookupCell `json:"raw"`
	Naive    *LookupCell `json:"naive,omitempty"`
	// Wrong counts the files boxauthz's lookup got wrong, missing or
	// extra, against the model (which must be none).
	Wrong int `json:"wrong"`
	// WhoCan is who may download each of whoCanItems deep files:
	// checker.LookupUsers beside SpiceDB's LookupSubjects.
	WhoCan *WhoCan `json:"who_can"`
}

// whoCanItems is how many files 25-30 folders deep a who-can lookup asks
// about.
const whoCanItems = 10

// WhoCan is the who-can lookups: the median time of each way, and the
// lookups whose users differ (which must be none).
type WhoCan struct {
	Items      int     `json:"items"`
	BoxauthzMs float64 `json:"boxauthz_p50_ms"`
	RawMs      float64 `json:"raw_p50_ms"`
	Differ     int     `json:"differ"`
	Error      string  `json:"error,omitempty"`
}

// LookupCell is one way's lookup: the median over the rounds.
type LookupCell struct {
	Items int `json:"items"`
	// FirstPageMs is the time until the first DefaultLookupLimit items
	// were in hand; TotalMs until all were.
	FirstPageMs float64 `json:"first_page_ms"`
	TotalMs     float64 `json:"total_ms"`
	Error       string  `json:"error,omitempty"`
}

// measureLookups looks up the widest user's files with boxauthz's checker
// on primary, raw on primary, and on naive when it is not nil.
func measureLookups(ctx context.Context, d *synth.Dataset, ch *checker.Checker, primary, naive Client, token *v1.ZedToken) (*Lookups, error) {
	l := &Lookups{User: d.Users[d.Wide], Action: string(schema.ActionPreview), Rounds: lookupRounds}
	want := map[string]bool{}
	for i, it := range d.Items {
		if it.Type != schema.TypeFile {
			continue
		}
		ok, err := d.Expect(synth.Question{User: d.Wide, Item: i, Action: l.Action})
		if err != nil {
			return nil, err
		}
		if ok {
			want[it.ID] = true
		}
	}
	l.Expected = len(want)
	var got []string
	l.Boxauthz = rounds(func() ([]string, time.Duration, error) {
		var (
			ids    []string
			first  time.Duration
			cursor string
		)
		start := time.Now()
		for {
			page, err := ch.LookupItems(ctx, l.User, schema.ActionPreview, schema.TypeFile, checker.DefaultLookupLimit, cursor, checker.Consistency{Token: token.GetToken()})
			if err != nil {
				return nil, 0, err
			}
			if first == 0 {
				first = time.Since(start)
			}
			ids = append(ids, page.Items...)
			if cursor = page.Cursor; cursor == "" {
				got = ids
				return ids, first, nil
			}
		}
	})
	l.Raw = rounds(func() ([]string, time.Duration, error) { return lookupRaw(ctx, primary, l.User, l.Action, token) })
	if naive != nil {
		l.Naive = rounds(func() ([]string, time.Duration, error) { return lookupRaw(ctx, naive, l.User, l.Action, nil) })
	}
	l.WhoCan = measureWhoCan(ctx, d, ch, primary, token)
	seen := map[string]bool{}
	for _, id := range got {
		if !want[id] || seen[id] {
			l.Wrong++
		}
		seen[id] = true
	}
	for id := range want {
		if !seen[id] {
			l.Wrong++
		}
	}
	return l, nil
}

// rounds runs one way's lookup lookupRounds times and keeps the medians.
func rounds(lookup func() ([]string, time.Duration, error)) *LookupCell {
	var firsts, totals []time.Duration
	c := &LookupCell{}
	for range lookupRounds {
		start := time.Now()
		ids, first, err := lookup()
		if err != nil {
			c.Error = err.Error()
			return c
		}
		totals = append(totals, time.Since(start))
		firsts = append(firsts, first)
		c.Items = len(ids)
	}
	slices.Sort(firsts)
	slices.Sort(totals)
	c.FirstPageMs, c.TotalMs = millis(firsts[len(firsts)/2]), millis(totals[len(totals)/2])
	return c
}

// lookupRaw streams SpiceDB's LookupResources of files to the end, keeping
// each file once, and notes when it had the first page's worth.
func lookupRaw(ctx context.Context, c Client, user, action string, token *v1.ZedToken) ([]string, time.Duration, error) {
	m, _ := synth.CheckContext(synth.Question{Action: action})
	st, err := caveats.ConvertContextToStruct(m)
	if err != nil {
		return nil, 0, fmt.Errorf("caveat context: %w", err)
	}
	cons := &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	if token != nil {
		cons = atLeastAsFresh(token)
	}
	start := time.Now()
	stream, err := c.LookupResources(ctx, &v1.LookupResourcesRequest{
		Consistency: cons, ResourceObjectType: schema.TypeFile, Permission: action,
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: user}},
		Context: st,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("looking up files: %w", err)
	}
	seen := map[string]bool{}
	var (
		ids   []string
		first time.Duration
	)
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("looking up files: %w", err)
		}
		if id := resp.GetResourceObjectId(); !seen[id] && resp.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			seen[id] = true
			ids = append(ids, id)
			if len(ids) == checker.DefaultLookupLimit {
				first = time.Since(start)
			}
		}
	}
	if first == 0 {
		first = time.Since(start)
	}
	return ids, first, nil
}
