package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// LeaseTTL is how long a collector's lease lasts without renewal; the
// collector renews it after every repository it marks.
const LeaseTTL = 5 * time.Minute

// leaseRecord is gc/lease.
type leaseRecord struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// lease is a held gc/lease.
type lease struct {
	s      *Store
	holder string
	etag   string
}

// acquireLease takes gc/lease: created with If-None-Match: * when absent,
// taken over with If-Match on the ETag read once it has expired. Held by
// someone else, it fails with errdef.ErrUnavailable.
func (s *Store) acquireLease(ctx context.Context) (*lease, error) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	host, _ := os.Hostname()
	l := &lease{s: s, holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(rnd[:]))}
	key := s.keys.lease()
	for range casAttempts {
		b, etag, err := s.getRecord(ctx, key)
		if err != nil && !errors.Is(err, errdef.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			var rec leaseRecord
			if json.Unmarshal(b, &rec) == nil && time.Now().Before(rec.Expires) {
				return nil, fmt.Errorf("gc lease held by %s until %s: %w", rec.Holder, rec.Expires.Format(time.RFC3339), errdef.ErrUnavailable)
			}
		}
		nb, _ := json.Marshal(leaseRecord{Holder: l.holder, Expires: time.Now().Add(LeaseTTL)})
		l.etag, err = s.putRecord(ctx, key, nb, etag == "", etag)
		if err == nil {
			return l, nil
		}
		if !conflict(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("gc lease: still contended: %w", errdef.ErrUnavailable)
}

// renew extends the lease, failing if anyone else took it meanwhile.
func (l *lease) renew(ctx context.Context) error {
	b, _ := json.Marshal(leaseRecord{Holder: l.holder, Expires: time.Now().Add(LeaseTTL)})
	etag, err := l.s.putRecord(ctx, l.s.keys.lease(), b, false, l.etag)
	if err != nil {
		return fmt.Errorf("gc lease lost: %w", err)
	}
	l.etag = etag
	return nil
}

// release marks the lease expired, if it is still ours.
func (l *lease) release(ctx context.Context) {
	b, _ := json.Marshal(leaseRecord{Holder: l.holder})
	_, _ = l.s.putRecord(context.WithoutCancel(ctx), l.s.keys.lease(), b, false, l.etag)
}

// GC collects garbage across the bucket while holding the gc/lease, so two
// replicas never sweep at once; a second one fails with
// errdef.ErrUnavailable. In every repository it marks what the tags, the
// untagged roots and the recorded referrers reach, recursively, and removes
// the other membership markers older than the grace period; then it removes
// global blobs neither marked nor held by a surviving marker and older than
// the grace period.
//
// Pushes in progress on other replicas only create young objects: chunks
// (not swept here: ExpireUploads), new blobs, and membership markers, which
// Put, Mount, commit and Touch rewrite even when they exist, so a blob
// deduplicated or referenced a moment ago counts as young. Right before
// deleting a marker GC checks its age again and deletes it only if it has
// not been rewritten since (If-Match); right before deleting a blob it
// checks again that no repository has marked it since the listing.
//
// image-spec v1.1.1 image-layout.md (roots and the graph below them):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func (r *Root) GC(ctx context.Context, opts served.GCOptions) (served.GCReport, error) {
	if opts.Grace <= 0 {
		opts.Grace = served.DefaultGCGrace
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	cutoff := opts.Now.Add(-opts.Grace)
	rep := served.GCReport{DryRun: opts.DryRun}
	fail := func(err error) (served.GCReport, error) { return rep, &store.Error{Op: "gc", Err: err} }
	renew := func(context.Context) error { return nil }
	if !opts.DryRun {
		l, err := r.s.acquireLease(ctx)
		if err != nil {
			return fail(err)
		}
		defer l.release(ctx)
		renew = l.renew
	}
	names, err := r.Repositories(ctx)
	if err != nil {
		return fail(err)
	}
	rep.Repositories = len(names)
	marked := map[digest.Digest]bool{} // reachable from some repository
	held := map[digest.Digest]bool{}   // held by a surviving membership marker
	for _, name := range names {
		if err := renew(ctx); err != nil {
			return fail(err)
		}
		rs, _ := r.repo(name)
		m, err := r.mark(ctx, rs)
		if err == nil {
			rep.Reachable += len(m)
			for d := range m {
				marked[d] = true
			}
			err = r.sweepMembers(ctx, rs, m, cutoff, opts.DryRun, &rep, held)
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, served.GCSkip{Repo: name, Error: err.Error()})
			// Whatever it holds must survive: its graph is unknown.
			objs, lerr := r.s.list(ctx, r.s.keys.members(name))
			if lerr != nil {
				return fail(lerr)
			}
			for _, o := range objs {
				if d, ok := memberDigest(r.s.keys.members(name), o.key); ok {
					held[d] = true
				}
			}
		}
	}
	if err := renew(ctx); err != nil {
		return fail(err)
	}
	if err := r.sweepBlobs(ctx, marked, held, cutoff, opts.DryRun, &rep); err != nil {
		return fail(err)
	}
	return rep, nil
}

// mark returns every digest reachable in repository rs.
func (r *Root) mark(ctx context.Context, rs *Store) (map[digest.Digest]bool, error) {
	var roots []oci.Descriptor
	tags, err := rs.Tags(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		desc, err := rs.Resolve(ctx, t)
		if err != nil {
			if errors.Is(err, errdef.ErrNotFound) {
				continue // untagged since the listing
			}
			return nil, err
		}
		roots = append(roots, desc)
	}
	prefix := r.s.keys.manifests(rs.repo)
	objs, err := r.s.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		b, _, err := r.s.getRecord(ctx, o.key)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var desc oci.Descriptor
		if json.Unmarshal(b, &desc) == nil {
			roots = append(roots, desc)
		}
	}
	refPrefix := r.s.keys.referrers(rs.repo)
	if objs, err = r.s.list(ctx, refPrefix); err != nil {
		return nil, err
	}
	for _, o := range objs {
		name := o.key[strings.LastIndexByte(o.key, '/')+1:]
		if d, ok := markerDigest(name); ok {
			roots = append(roots, oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: d, Size: -1})
		}
	}
	marked := map[digest.Digest]bool{}
	stack := roots
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		desc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if marked[desc.Digest] || oci.ValidateDigest(desc.Digest) != nil {
			continue
		}
		marked[desc.Digest] = true
		if !oci.IsManifest(desc.MediaType) {
			continue
		}
		m, err := r.readManifest(ctx, desc)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // a sparse index or a dangling tag marks nothing below
		}
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		stack = append(stack, m.Children()...)
	}
	return marked, nil
}

// readManifest reads a stored manifest whole, bounded and verified.
func (r *Root) readManifest(ctx context.Context, desc oci.Descriptor) (*oci.Manifest, error) {
	fh, size, err := r.s.Open(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	raw, err := oci.ReadAllVerified(fh, desc.Digest, size, oci.DefaultManifestLimit)
	if err != nil {
		return nil, err
	}
	m, err := oci.ParseManifest("", raw)
	if err != nil {
		m, err = oci.ParseManifest(desc.MediaType, raw)
	}
	return m, err
}

// sweepMembers removes rs's membership markers that are neither marked nor
// young, and adds the surviving ones to held.
func (r *Root) sweepMembers(ctx context.Context, rs *Store, marked map[digest.Digest]bool, cutoff time.Time, dryRun bool, rep *served.GCReport, held map[digest.Digest]bool) error {
	prefix := r.s.keys.members(rs.repo)
	objs, err := r.s.list(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		d, ok := memberDigest(prefix, o.key)
		if !ok {
			continue
		}
		if marked[d] {
			held[d] = true
			continue
		}
		if o.modified.After(cutoff) {
			rep.Young++
			held[d] = true
			continue
		}
		gone, young, err := r.removeOldMember(ctx, o.key, d, cutoff, dryRun)
		switch {
		case err != nil:
			return err
		case young:
			rep.Young++
			held[d] = true
		case gone:
			rep.Removed++
		}
	}
	return nil
}

// removeOldMember removes the membership marker key of blob d, which the
// listing showed old and which no root reaches, unless it has become young
// since. Age is that of the newer of the marker and the blob's bytes (an
// upload may have just written them, its marker next). The check is made
// again right before deleting, and the delete is conditional on the ETag it
// read: a Touch, Put, Mount or commit on another replica rewrites the
// marker with new content, so one that lands after the check makes the
// delete fail (412) and the marker stays. gone reports whether the marker
// is absent afterwards (in a dry run: would be).
//
// S3 conditional deletes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html
func (r *Root) removeOldMember(ctx context.Context, key string, d digest.Digest, cutoff time.Time, dryRun bool) (gone, young bool, err error) {
	etag, modified, err := r.s.headInfo(ctx, key)
	if errors.Is(err, errdef.ErrNotFound) {
		return false, false, nil // deleted since the listing
	}
	if err != nil {
		return false, false, err
	}
	if modified.After(cutoff) {
		return false, true, nil
	}
	_, blobModified, err := r.s.headInfo(ctx, r.s.keys.blob(d))
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return false, false, err
	}
	if blobModified.After(cutoff) {
		return false, true, nil
	}
	if dryRun {
		return true, false, nil
	}
	switch err := r.s.removeIf(ctx, key, etag); {
	case conflict(err):
		return false, true, nil
	case err != nil:
		return false, false, err
	}
	return true, false, nil
}

// sweepBlobs removes global blobs nobody marks or holds, once old enough.
func (r *Root) sweepBlobs(ctx context.Context, marked, held map[digest.Digest]bool, cutoff time.Time, dryRun bool, rep *served.GCReport) error {
	prefix := r.s.keys.prefix + "blobs/"
	objs, err := r.s.list(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		d, ok := memberDigest(prefix, o.key)
		if !ok || marked[d] || held[d] {
			continue
		}
		if o.modified.After(cutoff) {
			rep.Young++
			continue
		}
		// A push on another replica may have marked it since the listing.
		if h, err := r.heldAnywhere(ctx, d); err != nil || h {
			if err != nil {
				return err
			}
			continue
		}
		if !dryRun {
			if err := r.s.remove(ctx, o.key); err != nil {
				return err
			}
		}
		rep.PoolRemoved++
		rep.FreedBytes += o.size
	}
	return nil
}

// heldAnywhere reports whether any repository (listed now) marks d.
func (r *Root) heldAnywhere(ctx context.Context, d digest.Digest) (bool, error) {
	names, err := r.Repositories(ctx)
	if err != nil {
		return false, err
	}
	for _, name := range names {
		err := r.s.head(ctx, r.s.keys.member(name, d))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, errdef.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// memberDigest parses <prefix><alg>/<hex>.
func memberDigest(prefix, key string) (digest.Digest, bool) {
	alg, hex, ok := strings.Cut(strings.TrimPrefix(key, prefix), "/")
	d := digest.Digest(alg + ":" + hex)
	return d, ok && oci.ValidateDigest(d) == nil
}
