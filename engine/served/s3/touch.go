package s3

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

var _ served.Toucher = (*Root)(nil)

// touchParallel bounds the requests one Touch has in flight: a manifest
// may name a hundred layers, and touching them one after another would make
// a push wait for hundreds of round trips.
const touchParallel = 8

// Touch implements served.Toucher: it rewrites the membership marker of each
// blob ds names in repo, so the marker's LastModified is now and its ETag
// new, then checks the blob's bytes are still there.
//
// There is no lock to share with a collector on another replica; the
// marker's ETag plays its part. The rewrite is conditional on the ETag read
// (If-Match), and the collector deletes an old marker only with If-Match on
// the ETag it saw when it judged the marker old (see Root.sweepMembers). So
// either the collector's delete came first, and the rewrite fails and the
// blob is reported missing, or the rewrite came first, and the delete fails
// and the collector keeps the marker and, held by it, the blob. A blob repo
// does not hold is never given a marker here: that is Put's or Mount's job,
// which check the bytes.
func (r *Root) Touch(ctx context.Context, repo served.Repository, ds ...digest.Digest) error {
	rs, err := r.own(repo)
	if err != nil {
		return &store.Error{Op: "touch", Err: err}
	}
	var (
		mu      sync.Mutex
		missing []digest.Digest
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(touchParallel)
	for _, d := range ds {
		g.Go(func() error {
			err := rs.touchMember(gctx, d)
			if errors.Is(err, errdef.ErrNotFound) {
				mu.Lock()
				missing = append(missing, d)
				mu.Unlock()
				return nil
			}
			if err != nil {
				return &store.Error{Op: "touch", Digest: d, Err: err}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(missing) > 0 {
		return &store.Error{Op: "touch", Digest: missing[0], Err: fmt.Errorf("%d of %d blobs not in the repository: %w", len(missing), len(ds), errdef.ErrNotFound)}
	}
	return nil
}

// touchMember rewrites s's marker for d by compare-and-swap and then checks
// the blob's bytes exist; an absent marker or blob matches
// errdef.ErrNotFound. A lost swap means someone else rewrote the marker
// (which makes it young just as well) or deleted it: the marker's presence
// now tells which.
//
// S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
func (s *Store) touchMember(ctx context.Context, d digest.Digest) error {
	if err := oci.ValidateDigest(d); err != nil {
		return err
	}
	key := s.keys.member(s.repo, d)
	etag, _, err := s.headInfo(ctx, key)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if _, err := s.putRecord(ctx, key, memberStamp(), false, etag); conflict(err) {
		if err := s.head(ctx, key); err != nil {
			return fmt.Errorf("blob: %w", err)
		}
	} else if err != nil {
		return err
	}
	// The marker is young now, so no collection that starts later removes
	// the bytes; one that removed them before is over, and shows here.
	_, err = s.stat(ctx, d)
	return err
}
