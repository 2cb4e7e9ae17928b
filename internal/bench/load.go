package bench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/internal/bench/synth"
	"github.com/boxauthz/boxauthz/internal/progress"
)

// importBatch is the number of relationships per ImportBulkRelationships
// message.
const importBatch = 5000

// importStream is the number of relationships per ImportBulkRelationships
// stream: SpiceDB ends a streaming call after its streaming API timeout (30s
// by default), so a big load goes as several streams, each one transaction.
const importStream = 100000

// loaded says what loading the data set into one SpiceDB took.
type loaded struct {
	relationships int
	took          time.Duration
	// token is the revision right after the load: checks are asked at
	// least as fresh as it.
	token *v1.ZedToken
}

// load writes the data set into c through ImportBulkRelationships, with the
// placements chain checks read when placements is set, logging progress as
// what.
func load(ctx context.Context, c Client, d *synth.Dataset, placements bool, logger *slog.Logger, what string) (loaded, error) {
	total := 0
	_ = d.EachRelationship(false, placements, func(*v1.Relationship) error { total++; return nil })
	rep := progress.New(logger, progress.WithUnit("relationships"), progress.WithAttrs("loading", what), progress.WithFinal("data set loaded"))
	start := time.Now()
	im := &importer{ctx: ctx, c: c}
	rep.Report(ctx, progress.Status{Total: int64(total), Events: -1})
	err := d.EachRelationship(false, placements, func(r *v1.Relationship) error {
		im.batch = append(im.batch, r)
		if len(im.batch) < importBatch {
			return nil
		}
		err := im.flush()
		rep.Report(ctx, progress.Status{Position: int64(im.sent), Total: int64(total), Events: -1})
		return err
	})
	if err == nil {
		err = im.flush()
	}
	if err == nil {
		err = im.finish()
	}
	if status.Code(err) == codes.AlreadyExists {
		return loaded{}, fmt.Errorf("loading the data set into %s: it holds some of its relationships already (an earlier run with this --seed?): %w", what, err)
	}
	if err != nil {
		return loaded{}, fmt.Errorf("loading the data set into %s: %w", what, err)
	}
	took := time.Since(start)
	rep.Done(ctx, progress.Status{Position: int64(im.sent), Total: int64(total), Events: -1})
	rs, err := c.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err != nil {
		return loaded{}, fmt.Errorf("reading the revision after loading %s: %w", what, err)
	}
	return loaded{relationships: im.sent, took: took, token: rs.GetReadAt()}, nil
}

// importer sends relationships in batches, a new stream every
// importStream relationships.
type importer struct {
	ctx      context.Context
	c        Client
	stream   v1.PermissionsService_ImportBulkRelationshipsClient
	batch    []*v1.Relationship
	inStream uint64
	sent     int
}

// flush sends the batch, starting a stream when none is open.
func (im *importer) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	if im.stream == nil {
		s, err := im.c.ImportBulkRelationships(im.ctx)
		if err != nil {
			return fmt.Errorf("starting bulk import: %w", err)
		}
		im.stream = s
	}
	if err := im.stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: im.batch}); err != nil {
		// The stream's real error comes with CloseAndRecv.
		if _, rerr := im.stream.CloseAndRecv(); rerr != nil {
			return fmt.Errorf("bulk import: %w", rerr)
		}
		return fmt.Errorf("bulk import: %w", err)
	}
	im.inStream += uint64(len(im.batch))
	im.sent += len(im.batch)
	im.batch = make([]*v1.Relationship, 0, importBatch)
	if im.inStream >= importStream {
		return im.finish()
	}
	return nil
}

// finish closes the open stream, if any, and checks that SpiceDB loaded
// all it was sent.
func (im *importer) finish() error {
	if im.stream == nil {
		return nil
	}
	resp, err := im.stream.CloseAndRecv()
	im.stream = nil
	if err != nil {
		return fmt.Errorf("bulk import: %w", err)
	}
	if resp.GetNumLoaded() != im.inStream {
		return fmt.Errorf("bulk import loaded %d relationships, sent %d", resp.GetNumLoaded(), im.inStream)
	}
	im.inStream = 0
	return nil
}
