package mirror

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// repoClient is what a mirror needs of a registry repository: both sides of
// a copy, with every optional capability copy looks for (mount, chunked
// resume, ranges, referrers), so that the wrappers below keep them.
type repoClient interface {
	transport.Source
	transport.Target
	transport.TagLister
	transport.ReferrerLister
	transport.RangeFetcher
	transport.Mounter
	transport.ResumablePusher
	transport.ManifestTagger
	Host() string
	Name() string
}

// destRepo is one destination repository, shared by every image of a run
// that goes there. It remembers what the run has found or put there, so a
// layer shared by fifty images is asked about once, and it lets one image at
// a time transfer a given blob: images copied in parallel would otherwise
// race to read and send the same bytes (regctl sends about twice the bytes
// of a mirror whose tags share layers for that reason).
//
// An image that finds a blob missing claims it, from that Exists to the end
// of its Push; others asking meanwhile wait for the outcome instead of
// fetching the blob from the source too. Claims an image still holds when
// its copy returns (a source fetch failed between Exists and Push) are
// released then, and a waiter whose claimant failed asks again.
type destRepo struct {
	repoClient

	mu       sync.Mutex
	present  map[digest.Digest]bool
	inflight map[digest.Digest]*claim

	tagsOnce sync.Once
	tags     map[string]bool // the repository's tags when the run began; nil: unknown
}

// lacksTag reports whether the destination is known not to hold tag, from
// one listing of its tags per run: a new tag then costs no HEAD (a cold run
// of a hundred tags asks once, not a hundred times). A listing that fails
// for another reason than a missing repository leaves every tag to a HEAD.
// A tag the listing missed (a registry whose list lags) is only copied
// again: its manifest is found present and tagged with one PUT.
//
// distribution-spec v1.1.1 §Listing tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags
func (d *destRepo) lacksTag(ctx context.Context, tag string) bool {
	d.tagsOnce.Do(func() {
		tags, err := d.repoClient.Tags(ctx)
		switch {
		case err == nil:
			d.tags = make(map[string]bool, len(tags))
			for _, t := range tags {
				d.tags[t] = true
			}
		case errors.Is(err, errdef.ErrNotFound):
			d.tags = map[string]bool{} // no such repository yet
		}
	})
	return d.tags != nil && !d.tags[tag]
}

// claim is one image's pending transfer of a blob; waiters block on done.
type claim struct {
	owner *imageTarget
	done  chan struct{}
	err   error
}

// errReleased is the outcome of a claim its image gave up without a push.
var errReleased = errors.New("claim released without a push")

func newDestRepo(rc repoClient) *destRepo {
	return &destRepo{repoClient: rc, present: map[digest.Digest]bool{}, inflight: map[digest.Digest]*claim{}}
}

func (d *destRepo) markPresent(dg digest.Digest) {
	d.mu.Lock()
	d.present[dg] = true
	d.mu.Unlock()
}

// finish settles c with err (nil: the blob is now present) and wakes its waiters.
func (d *destRepo) finish(dg digest.Digest, c *claim, err error) {
	d.mu.Lock()
	if d.inflight[dg] == c {
		delete(d.inflight, dg)
	}
	if err == nil {
		d.present[dg] = true
	}
	delete(c.owner.claims, dg)
	d.mu.Unlock()
	c.err = err
	close(c.done)
}

// imageTarget is one image's view of a destRepo: it holds that image's
// claims and counts what the image itself sent, which copy.Result cannot
// tell apart from what another image of the run sent a moment before.
type imageTarget struct {
	*destRepo
	// root is the digest of the manifest the image's copy tags. It is
	// claimed like a blob, so that the tags of one image copied at once
	// (v1 and latest) wait for one copy and then only tag it.
	root      digest.Digest
	claims    map[digest.Digest]*claim // guarded by destRepo.mu
	manifests map[digest.Digest]bool   // the image's manifests sent; guarded by destRepo.mu
	blobsSent atomic.Int64
	bytesSent atomic.Int64
}

func newImageTarget(d *destRepo, root digest.Digest) *imageTarget {
	return &imageTarget{destRepo: d, root: root, claims: map[digest.Digest]*claim{}, manifests: map[digest.Digest]bool{}}
}

// sentManifest marks the image's manifest desc present and counts its
// bytes, once: a copy with referrers pushes its root a second time, by
// tag, after the referrers, and copy.Result does not count that twice
// either.
func (t *imageTarget) sentManifest(desc oci.Descriptor) {
	t.mu.Lock()
	again := t.manifests[desc.Digest]
	t.manifests[desc.Digest] = true
	t.present[desc.Digest] = true
	c := t.claims[desc.Digest]
	t.mu.Unlock()
	if c != nil {
		t.finish(desc.Digest, c, nil)
	}
	if !again {
		t.bytesSent.Add(desc.Size)
	}
}

// release gives up the claims the image still holds; called when its copy
// has returned.
func (t *imageTarget) release() {
	t.mu.Lock()
	held := make(map[digest.Digest]*claim, len(t.claims))
	for dg, c := range t.claims {
		held[dg] = c
	}
	t.mu.Unlock()
	for dg, c := range held {
		t.finish(dg, c, errReleased)
	}
}

// Exists answers from what the run knows before asking the registry; a
// missing blob is claimed for this image (see destRepo). The claim is taken
// before the HEAD, so images asking about one blob at once send one HEAD:
// the others wait for its answer (and, if the blob is missing, for the
// claimant's push).
func (t *imageTarget) Exists(ctx context.Context, desc oci.Descriptor) (bool, error) {
	dg := desc.Digest
	if oci.IsManifest(desc.MediaType) && dg != t.root {
		// Manifests below the root are an image's own: no claims (two
		// indexes listing the same manifests in another order would wait
		// on each other), the run's record then a HEAD.
		t.mu.Lock()
		ok := t.present[dg]
		t.mu.Unlock()
		if ok {
			return true, nil
		}
		ok, err := t.repoClient.Exists(ctx, desc)
		if ok {
			t.markPresent(dg)
		}
		return ok, err
	}
	for {
		t.mu.Lock()
		if t.present[dg] {
			t.mu.Unlock()
			return true, nil
		}
		c := t.inflight[dg]
		if c == nil {
			c = &claim{owner: t, done: make(chan struct{})}
			t.inflight[dg] = c
			t.claims[dg] = c
			t.mu.Unlock()
			ok, err := t.repoClient.Exists(ctx, desc)
			if err != nil || ok {
				// Settled either way: present, or unknown, in which case
				// waiters ask for themselves.
				t.finish(dg, c, err)
				return ok, err
			}
			return false, nil // missing: the claim stands until this image pushes
		}
		t.mu.Unlock()
		if c.owner == t {
			return false, nil // this image found it missing already
		}
		select {
		case <-c.done:
			if c.err == nil {
				return true, nil
			}
			// The claimant failed or gave up: ask again.
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// transfer runs push under this image's claim on dg, taking the claim
// first if Exists did not (waiting out another image's), and reports
// whether this image sent the blob.
func (t *imageTarget) transfer(ctx context.Context, dg digest.Digest, push func() error) (bool, error) {
	for {
		t.mu.Lock()
		if t.present[dg] {
			t.mu.Unlock()
			return false, nil
		}
		c := t.inflight[dg]
		if c == nil {
			c = &claim{owner: t, done: make(chan struct{})}
			t.inflight[dg] = c
			t.claims[dg] = c
		}
		t.mu.Unlock()
		if c.owner == t {
			err := push()
			t.finish(dg, c, err)
			return err == nil, err
		}
		select {
		case <-c.done:
			if c.err == nil {
				return false, nil
			}
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// Push uploads desc once per run whatever the number of images sharing it.
// A reader this image need not send is left unread: the content is
// verified by the upload that did read it.
func (t *imageTarget) Push(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	if oci.IsManifest(desc.MediaType) {
		// Manifests are small and an image's own: no claims, just counting.
		if err := t.repoClient.Push(ctx, desc, r); err != nil {
			return err
		}
		t.sentManifest(desc)
		return nil
	}
	sent, err := t.transfer(ctx, desc.Digest, func() error { return t.repoClient.Push(ctx, desc, r) })
	t.count(sent, desc)
	return err
}

// PushTagged is Push for a manifest that copy pushes straight by its tag.
func (t *imageTarget) PushTagged(ctx context.Context, desc oci.Descriptor, r io.Reader, tag string) error {
	if err := t.repoClient.PushTagged(ctx, desc, r, tag); err != nil {
		return err
	}
	t.sentManifest(desc)
	return nil
}

// PushResumable is Push for the uploads copy makes from a source it can
// reopen (every blob, to a registry).
func (t *imageTarget) PushResumable(ctx context.Context, desc oci.Descriptor, chunkSize int64, open func(ctx context.Context, offset int64) (io.ReadCloser, error)) error {
	sent, err := t.transfer(ctx, desc.Digest, func() error { return t.repoClient.PushResumable(ctx, desc, chunkSize, open) })
	t.count(sent, desc)
	return err
}

// Mount settles this image's claim when the registry took the blob from
// another repository.
func (t *imageTarget) Mount(ctx context.Context, desc oci.Descriptor, from string) (bool, error) {
	ok, err := t.repoClient.Mount(ctx, desc, from)
	if ok {
		t.mu.Lock()
		c := t.claims[desc.Digest]
		t.mu.Unlock()
		if c != nil {
			t.finish(desc.Digest, c, nil)
		} else {
			t.markPresent(desc.Digest)
		}
	}
	return ok, err
}

func (t *imageTarget) count(sent bool, desc oci.Descriptor) {
	if sent {
		t.blobsSent.Add(1)
		t.bytesSent.Add(desc.Size)
	}
}

// pinnedSource is a source repository whose root manifest the mirror has
// already resolved (and, for a platform choice, read): copy asks again, and
// the answer is here rather than a second round trip.
type pinnedSource struct {
	repoClient
	root oci.Descriptor
	raw  []byte // root's bytes when already read; copy verifies them again
}

// Resolve answers for the pinned root's digest without a request.
func (s *pinnedSource) Resolve(ctx context.Context, ref string) (oci.Descriptor, error) {
	if ref == s.root.Digest.String() {
		return s.root, nil
	}
	return s.repoClient.Resolve(ctx, ref)
}

// Fetch serves the pinned root's bytes when they are already read.
func (s *pinnedSource) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	if s.raw != nil && desc.Digest == s.root.Digest {
		return io.NopCloser(bytes.NewReader(s.raw)), nil
	}
	return s.repoClient.Fetch(ctx, desc)
}
