package shapebench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/bench/synth"
)

// LoadResult says what loading a data set into a SpiceDB took.
type LoadResult struct {
	Relationships int
	Duration      time.Duration
	// Token is the revision right after the load, for at_exact_snapshot checks.
	Token *v1.ZedToken
}

// ImportBatch is the number of relationships per ImportBulkRelationships
// message.
const ImportBatch = 5000

// ImportStream is the number of relationships per ImportBulkRelationships
// stream.
const ImportStream = 100000

// Load writes the schema of shape and then the data set (with ancestor
// relationships when the shape reads them) through ImportBulkRelationships.
// Duration covers the relationships only.
func Load(ctx context.Context, c Conn, shape Shape, d *synth.Dataset) (LoadResult, error) {
	text, err := shape.SchemaText()
	if err != nil {
		return LoadResult{}, err
	}
	if _, err := c.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text}); err != nil {
		return LoadResult{}, fmt.Errorf("writing the %s schema: %w", shape, err)
	}
	start := time.Now()
	var stream v1.PermissionsService_ImportBulkRelationshipsClient
	var inStream uint64
	// SpiceDB ends a streaming call after its streaming API timeout (30s by
	// default), so a big load goes as several streams (each one transaction).
	finish := func() error {
		if stream == nil {
			return nil
		}
		resp, err := stream.CloseAndRecv()
		stream = nil
		if err != nil {
			return fmt.Errorf("bulk import: %w", err)
		}
		if resp.GetNumLoaded() != inStream {
			return fmt.Errorf("bulk import loaded %d relationships, sent %d", resp.GetNumLoaded(), inStream)
		}
		inStream = 0
		return nil
	}
	batch := make([]*v1.Relationship, 0, ImportBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if stream == nil {
			var err error
			if stream, err = c.ImportBulkRelationships(ctx); err != nil {
				return fmt.Errorf("starting bulk import: %w", err)
			}
		}
		if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: batch}); err != nil {
			// The stream's real error comes with CloseAndRecv.
			if _, rerr := stream.CloseAndRecv(); rerr != nil {
				return fmt.Errorf("bulk import: %w", rerr)
			}
			return fmt.Errorf("bulk import: %w", err)
		}
		inStream += uint64(len(batch))
		batch = make([]*v1.Relationship, 0, ImportBatch)
		if inStream >= ImportStream {
			return finish()
		}
		return nil
	}
	n := 0
	err = d.EachRelationship(shape.NeedsAncestors(), shape.HasPlacements(), func(r *v1.Relationship) error {
		batch = append(batch, r)
		n++
		if len(batch) == ImportBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = finish()
	}
	if err != nil {
		return LoadResult{}, err
	}
	dur := time.Since(start)
	rs, err := c.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err != nil {
		return LoadResult{}, fmt.Errorf("reading the revision after the load: %w", err)
	}
	return LoadResult{Relationships: n, Duration: dur, Token: rs.GetReadAt()}, nil
}

// Answer asks every question of qs with CheckBulkPermissions, fully
// consistent, and returns the answers in order.
// Questions are sent grouped by (user, action, link), which SpiceDB answers
// as one dispatch per 100 items.
func Answer(ctx context.Context, c Conn, d *synth.Dataset, qs []synth.Question) ([]v1.CheckPermissionResponse_Permissionship, error) {
	const chunk = 1000
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		a, b := qs[order[x]], qs[order[y]]
		if a.User != b.User {
			return a.User < b.User
		}
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		return a.Link < b.Link
	})
	sorted := make([]synth.Question, len(qs))
	for k, i := range order {
		sorted[k] = qs[i]
	}
	got, err := answerInOrder(ctx, c, d, sorted, chunk)
	if err != nil {
		return nil, err
	}
	out := make([]v1.CheckPermissionResponse_Permissionship, len(qs))
	for k, i := range order {
		out[i] = got[k]
	}
	return out, nil
}

func answerInOrder(ctx context.Context, c Conn, d *synth.Dataset, qs []synth.Question, chunk int) ([]v1.CheckPermissionResponse_Permissionship, error) {
	out := make([]v1.CheckPermissionResponse_Permissionship, len(qs))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for lo := 0; lo < len(qs); lo += chunk {
		hi := min(lo+chunk, len(qs))
		req := &v1.CheckBulkPermissionsRequest{Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}}
		for _, q := range qs[lo:hi] {
			it, err := d.BulkItem(q)
			if err != nil {
				return nil, err
			}
			req.Items = append(req.Items, it)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(lo int, req *v1.CheckBulkPermissionsRequest) {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := c.CheckBulkPermissions(ctx, req)
			if err == nil && len(resp.GetPairs()) != len(req.Items) {
				err = fmt.Errorf("%d answers to %d questions", len(resp.GetPairs()), len(req.Items))
			}
			if err == nil {
				for k, p := range resp.GetPairs() {
					if e := p.GetError(); e != nil {
						err = fmt.Errorf("%s: %s", d.String(qs[lo+k]), e.GetMessage())
						break
					}
					out[lo+k] = p.GetItem().GetPermissionship()
				}
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("bulk check: %w", err)
				}
				mu.Unlock()
			}
		}(lo, req)
	}
	wg.Wait()
	return out, firstErr
}
