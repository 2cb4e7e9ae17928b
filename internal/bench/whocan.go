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

// measureWhoCan asks who may download deep files, both ways, and compares
// the users each way names.
func measureWhoCan(ctx context.Context, d *synth.Dataset, ch *checker.Checker, c Client, token *v1.ZedToken) *WhoCan {
	w := &WhoCan{}
	var items []int
	for i, it := range d.Items {
		if it.Type == schema.TypeFile && synth.BucketOf(it.Depth) == synth.BucketDeep && len(items) < whoCanItems {
			items = append(items, i)
		}
	}
	var ours, raws []time.Duration
	for _, i := range items {
		it := d.Items[i]
		start := time.Now()
		page, err := ch.LookupUsers(ctx, schema.ItemRef{Type: it.Type, ID: it.ID}, schema.ActionDownload, checker.MaxLookupLimit, "", checker.Consistency{Token: token.GetToken()})
		if err != nil {
			w.Error = err.Error()
			return w
		}
		ours = append(ours, time.Since(start))
		start = time.Now()
		users, err := lookupSubjectsRaw(ctx, c, it, token)
		if err != nil {
			w.Error = err.Error()
			return w
		}
		raws = append(raws, time.Since(start))
		slices.Sort(users)
		if !slices.Equal(users, page.Users) {
			w.Differ++
		}
	}
	w.Items = len(items)
	if len(items) > 0 {
		slices.Sort(ours)
		slices.Sort(raws)
		w.BoxauthzMs, w.RawMs = millis(ours[len(ours)/2]), millis(raws[len(raws)/2])
	}
	return w
}

// lookupSubjectsRaw is SpiceDB's LookupSubjects of who may download it,
// each user once.
func lookupSubjectsRaw(ctx context.Context, c Client, it synth.Item, token *v1.ZedToken) ([]string, error) {
	m, _ := synth.CheckContext(synth.Question{Action: string(schema.ActionDownload)})
	st, err := caveats.ConvertContextToStruct(m)
	if err != nil {
		return nil, fmt.Errorf("caveat context: %w", err)
	}
	stream, err := c.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Consistency: atLeastAsFresh(token), Resource: &v1.ObjectReference{ObjectType: it.Type, ObjectId: it.ID},
		Permission: string(schema.ActionDownload), SubjectObjectType: schema.TypeUser, Context: st,
		WildcardOption: v1.LookupSubjectsRequest_WILDCARD_OPTION_EXCLUDE_WILDCARDS,
	})
	if err != nil {
		return nil, fmt.Errorf("looking up who may download %s: %w", it.ID, err)
	}
	seen := map[string]bool{}
	var out []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("looking up who may download %s: %w", it.ID, err)
		}
		s := resp.GetSubject()
		if id := s.GetSubjectObjectId(); s.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION && id != schema.AnonymousUser && !seen[id] {
			seen[id] = true
			out = append(out, schema.DecodeID(id))
		}
	}
}
