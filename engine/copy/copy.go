package copy

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Options tune a copy. The zero value copies everything an index lists, four
// blobs at a time, silently.
type Options struct {
	// Platform, as os/arch[/variant], copies only that manifest of an index
	// and tags it; the copy's digest is then the platform manifest's. Empty
	// copies every manifest of an index, which keeps the index digest. A
	// source that is not an index is copied whatever Platform says.
	Platform string
	// Platforms (each os/arch[/variant]; no variant matches every variant)
	// copies the entries of an index matching any of them, and the
	// attestations BuildKit attached to those. Each must match an entry.
	// Without Sparse the copy is a new index listing only those entries
	// (a new digest, Result.Digest; Result.SourceDigest is the original's).
	// Exclusive with Platform; ignored for a source that is not an index.
	Platforms []string
	// Sparse, with Platforms, pushes the original index bytes (so its
	// digest is kept) with only the chosen entries' content: the target
	// must accept an index whose other entries it does not hold (OCI
	// layouts do; CNCF distribution v3 with validation.manifests.indexes.
	// platforms: none does; by default it, and stevedore's registry, answer
	// MANIFEST_BLOB_UNKNOWN).
	Sparse bool
	// Concurrency bounds the blobs transferred at once; <= 0 means 4. A
	// target that writes in sequence (an archive, a transport.Committer)
	// gets one blob at a time whatever this says: its writes would queue
	// anyway, with their source connections held open.
	Concurrency int
	// PerRegistry bounds the blob transfers in flight to or from any one
	// registry host; <= 0 means 4. It matters when Limiter is shared.
	PerRegistry int
	// Limiter, if set, is shared by copies that run at once (the images of
	// a mirror) so that PerRegistry holds across them; nil means one for
	// this copy, of PerRegistry slots.
	Limiter *HostLimiter
	// Referrers also copies every manifest that refers to a copied one
	// (OCI 1.1 subject, found through the source's referrers API or tag
	// schema) and the legacy cosign tags of each, recursively, after their
	// subject. Sources that cannot list referrers contribute none.
	Referrers bool
	// ChunkSize: a blob larger than this goes to a target that can resume
	// (a registry) as a chunked upload of pieces this size, which a dropped
	// connection or a restarted registry interrupts without losing what
	// arrived. <= 0 leaves it to the target: a registry streams a large
	// blob in one request (one PATCH) and still resumes from what arrived,
	// which is the fastest; a chunk size is for registries or proxies that
	// limit request bodies.
	ChunkSize int64
	// Progress, if set, receives progress events, one at a time.
	Progress func(Event)
	// ManifestLimit bounds manifest reads; <= 0 means oci.DefaultManifestLimit.
	ManifestLimit int64
}

// Result describes a finished copy.
type Result struct {
	// Digest, MediaType and Size describe the manifest or index copied and tagged.
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	// SourceDigest is the digest the source reference resolved to. It
	// differs from Digest when the copy picked one platform of an index,
	// built a filtered index, or converted the image.
	SourceDigest digest.Digest `json:"sourceDigest,omitempty"`
	// BlobsCopied and BlobsSkipped count configs and layers transferred, and
	// found at the target already.
	BlobsCopied  int `json:"blobsCopied"`
	BlobsSkipped int `json:"blobsSkipped"`
	// BlobsMounted counts blobs the target took from another repository of
	// its registry instead of receiving them.
	BlobsMounted int `json:"blobsMounted,omitempty"`
	// ManifestsCopied and ManifestsSkipped count manifests and indexes likewise.
	ManifestsCopied  int `json:"manifestsCopied"`
	ManifestsSkipped int `json:"manifestsSkipped"`
	// Referrers counts the referrers found and copied (or found present).
	Referrers int `json:"referrers,omitempty"`
	// Bytes is the total of blob and manifest bytes sent to the target.
	Bytes int64 `json:"bytes"`
}

// rootAdder is implemented by targets that keep a list of their images (an
// OCI layout's index.json), so an untagged copy is still recorded there.
type rootAdder interface {
	AddRoot(ctx context.Context, desc oci.Descriptor) error
}

// maxDepth bounds index nesting; real images nest two deep at most.
const maxDepth = 8

// Copy copies what srcRef (a tag, a digest, or "" for a layout's only image)
// names in src to dst, and tags it dstTag there. An empty dstTag leaves it
// untagged (recorded as a root where the target keeps a list). Raw bytes are
// moved, never re-serialised, so digests are preserved; every byte is
// verified, content the target has is skipped (a manifest it has is taken
// to bring everything it references), and layers are streamed, never held
// in memory. A target that is a transport.Committer (an archive) is left
// for the caller to commit or abort. Failures are *Error, saying which side
// failed.
func Copy(ctx context.Context, src transport.Source, srcRef string, dst transport.Target, dstTag string, opts Options) (*Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.ManifestLimit <= 0 {
		opts.ManifestLimit = oci.DefaultManifestLimit
	}
	var want *oci.Platform
	if opts.Platform != "" {
		p, err := oci.ParsePlatform(opts.Platform)
		if err != nil {
			return nil, err
		}
		want = &p
	}
	wants, err := oci.ParsePlatforms(opts.Platforms)
	if err != nil {
		return nil, err
	}
	switch {
	case want != nil && wants != nil:
		return nil, fmt.Errorf("choose one platform (Platform) or several (Platforms), not both: %w", errdef.ErrInvalid)
	case opts.Sparse && wants == nil:
		return nil, fmt.Errorf("a sparse copy keeps some platforms of an index: name them: %w", errdef.ErrInvalid)
	}
	if opts.Limiter == nil {
		opts.Limiter = NewHostLimiter(opts.PerRegistry)
	}
	c := &copier{src: src, dst: dst, opts: opts, rep: &reporter{fn: opts.Progress}, blobLimit: opts.Concurrency}
	if _, ok := dst.(transport.Committer); ok {
		c.blobLimit = 1
	}
	rootDesc, err := src.Resolve(ctx, srcRef)
	if err != nil {
		return nil, srcErr(oci.Descriptor{}, err)
	}
	sourceDigest := rootDesc.Digest
	var raw []byte
	if wants != nil && oci.IsIndex(rootDesc.MediaType) {
		if raw, err = c.fetchManifest(ctx, rootDesc); err != nil {
			return nil, err
		}
		m, err := oci.ParseManifest(rootDesc.MediaType, raw)
		if err != nil {
			return nil, srcErr(rootDesc, err)
		}
		m.Digest = rootDesc.Digest
		keep, err := selectPlatforms(m, wants)
		if err != nil {
			return nil, srcErr(rootDesc, err)
		}
		if opts.Sparse {
			c.sparseRoot, c.sparseKeep = rootDesc.Digest, map[digest.Digest]bool{}
			for i, d := range m.Manifests {
				if keep[i] {
					c.sparseKeep[d.Digest] = true
				}
			}
		} else if rootDesc, raw, err = filterIndex(rootDesc, raw, keep); err != nil {
			return nil, srcErr(rootDesc, err)
		}
	}
	if want != nil && oci.IsIndex(rootDesc.MediaType) {
		if raw, err = c.fetchManifest(ctx, rootDesc); err != nil {
			return nil, err
		}
		m, err := oci.ParseManifest(rootDesc.MediaType, raw)
		if err != nil {
			return nil, srcErr(rootDesc, err)
		}
		d, ok := oci.ChoosePlatform(m, *want)
		if !ok {
			return nil, srcErr(rootDesc, fmt.Errorf("index %s has no manifest for platform %s: %w", rootDesc.Digest, opts.Platform, errdef.ErrNotFound))
		}
		rootDesc, raw = d, nil
	}
	// Only what addresses the content travels on: source annotations (a
	// layout's ref.name) must not follow it into the target's index.
	rootDesc = oci.Descriptor{MediaType: rootDesc.MediaType, Digest: rootDesc.Digest, Size: rootDesc.Size, ArtifactType: rootDesc.ArtifactType}

	root, err := c.walk(ctx, rootDesc, raw, 0)
	if err != nil {
		return nil, err
	}
	if err := c.copyBlobs(ctx, root); err != nil {
		return nil, err
	}
	// A registry takes the root manifest and its tag in one PUT. With
	// referrers to copy, the tag still comes last, so that whoever pulls
	// it finds the signatures there; the bytes are at hand either way, so
	// tagging costs no read-back.
	mt, canTag := dst.(transport.ManifestTagger)
	tagNow := ""
	if dstTag != "" && canTag && !opts.Referrers {
		tagNow = dstTag
	}
	if err := c.pushManifest(ctx, root, tagNow); err != nil {
		return nil, err
	}
	if opts.Referrers {
		if err := c.copyReferrers(ctx, root); err != nil {
			return nil, err
		}
	}
	switch ra, isRootAdder := dst.(rootAdder); {
	case dstTag != "" && tagNow != "" && !root.present:
		// Tagged by the push above.
	case dstTag != "" && canTag && root.raw != nil:
		err = mt.PushTagged(ctx, root.desc, bytes.NewReader(root.raw), dstTag)
	case dstTag != "" && canTag:
		// The target has the manifest, untagged or under another tag: its
		// bytes from the source make the tag one PUT, where Tag would read
		// them back from the target first.
		raw, ferr := c.fetchManifest(ctx, root.desc)
		if ferr != nil {
			return nil, ferr
		}
		err = mt.PushTagged(ctx, root.desc, bytes.NewReader(raw), dstTag)
	case dstTag != "":
		err = dst.Tag(ctx, root.desc, dstTag)
	case isRootAdder:
		err = ra.AddRoot(ctx, root.desc)
	}
	if err != nil {
		return nil, dstErr(root.desc, err)
	}
	return &Result{
		Digest: root.desc.Digest, MediaType: root.desc.MediaType, Size: root.desc.Size, SourceDigest: sourceDigest,
		BlobsCopied: int(c.blobsCopied.Load()), BlobsSkipped: int(c.blobsSkipped.Load()), BlobsMounted: int(c.blobsMounted.Load()),
		ManifestsCopied: int(c.manifestsCopied.Load()), ManifestsSkipped: int(c.manifestsSkipped.Load()),
		Bytes: c.bytes.Load(), Referrers: int(c.referrers.Load()),
	}, nil
}

// copier is the state of one Copy.
type copier struct {
	src  transport.Source
	dst  transport.Target
	opts Options
	rep  *reporter
	// blobLimit bounds concurrent blob transfers (Options.Concurrency, or 1).
	blobLimit int
	// sparseKeep, for a sparse copy, names the entries of the index
	// sparseRoot whose content is copied.
	sparseRoot digest.Digest
	sparseKeep map[digest.Digest]bool

	nodes     onceMap[digest.Digest, *node]
	blobs     onceMap[digest.Digest, struct{}]
	manifests onceMap[digest.Digest, struct{}]

	blobsCopied, blobsSkipped, blobsMounted, manifestsCopied, manifestsSkipped atomic.Int64
	bytes, referrers                                                           atomic.Int64
}

// node is one manifest of the graph being copied.
type node struct {
	desc     oci.Descriptor
	present  bool   // the target has it: nothing below it is copied
	raw      []byte // nil when present
	children []*node
	blobs    []oci.Descriptor // config and layers of an image manifest
}

// walk reads the manifest graph below desc, asking the target about each
// manifest first so that a subtree it already has is neither read nor sent.
// raw, when the caller has it, saves a fetch. Index entries are walked in
// parallel; a manifest listed twice is read once.
func (c *copier) walk(ctx context.Context, desc oci.Descriptor, raw []byte, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, srcErr(desc, fmt.Errorf("indexes nested more than %d deep: %w", maxDepth, errdef.ErrUnsupported))
	}
	return c.nodes.do(ctx, desc.Digest, func() (*node, error) {
		n := &node{desc: desc}
		ok, err := c.dst.Exists(ctx, desc)
		if err != nil {
			return nil, dstErr(desc, err)
		}
		if ok {
			n.present = true
			return n, nil
		}
		if raw == nil {
			if raw, err = c.fetchManifest(ctx, desc); err != nil {
				return nil, err
			}
		}
		m, err := oci.ParseManifest(desc.MediaType, raw)
		if err != nil {
			return nil, srcErr(desc, err)
		}
		n.raw = raw
		if !m.IsIndex() {
			n.blobs = m.Children()
			return n, nil
		}
		entries := m.Manifests
		if depth == 0 && desc.Digest == c.sparseRoot {
			entries = nil
			for _, d := range m.Manifests {
				if c.sparseKeep[d.Digest] {
					entries = append(entries, d)
				}
			}
		}
		for _, d := range entries {
			if !oci.IsManifest(d.MediaType) {
				return nil, srcErr(d, fmt.Errorf("index %s lists %s of media type %q, not a manifest: %w", desc.Digest, d.Digest, d.MediaType, errdef.ErrUnsupported))
			}
		}
		n.children = make([]*node, len(entries))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(c.opts.Concurrency)
		for i, d := range entries {
			g.Go(func() error {
				child, err := c.walk(gctx, d, nil, depth+1)
				n.children[i] = child
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return n, nil
	})
}

// fetchManifest reads a manifest whole, bounded and verified.
func (c *copier) fetchManifest(ctx context.Context, desc oci.Descriptor) ([]byte, error) {
	rc, err := c.src.Fetch(ctx, desc)
	if err != nil {
		return nil, srcErr(desc, err)
	}
	defer rc.Close()
	raw, err := oci.ReadAllVerified(rc, desc.Digest, desc.Size, c.opts.ManifestLimit)
	if err != nil {
		return nil, srcErr(desc, err)
	}
	return raw, nil
}

// copyBlobs transfers the configs and layers of every manifest below root
// that the target lacks, Concurrency at a time, each distinct blob once.
func (c *copier) copyBlobs(ctx context.Context, root *node) error {
	var blobs []oci.Descriptor
	seen := map[digest.Digest]bool{}
	var collect func(n *node)
	collect = func(n *node) {
		if n.present || seen[n.desc.Digest] {
			return
		}
		seen[n.desc.Digest] = true
		for _, ch := range n.children {
			collect(ch)
		}
		for _, b := range n.blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				blobs = append(blobs, b)
			}
		}
	}
	collect(root)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.blobLimit)
	for _, b := range blobs {
		g.Go(func() error {
			_, err := c.blobs.do(gctx, b.Digest, func() (struct{}, error) { return struct{}{}, c.copyBlob(gctx, b) })
			return err
		})
	}
	return g.Wait()
}

// pushManifest pushes n after everything it lists, so the target never
// holds a manifest whose references are missing. Registries check that for
// image manifests and indexes alike (distribution-spec v1.1.1 §Pushing
// manifests: https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests).
// A non-empty tag pushes n by that tag (the target is then a
// transport.ManifestTagger); n's children go by digest.
func (c *copier) pushManifest(ctx context.Context, n *node, tag string) error {
	_, err := c.manifests.do(ctx, n.desc.Digest, func() (struct{}, error) {
		if n.present {
			c.manifestsSkipped.Add(1)
			c.rep.emit(Event{Kind: KindImageSkipped, Desc: n.desc})
			return struct{}{}, nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(c.opts.Concurrency)
		for _, ch := range n.children {
			g.Go(func() error { return c.pushManifest(gctx, ch, "") })
		}
		if err := g.Wait(); err != nil {
			return struct{}{}, err
		}
		var err error
		if mt, ok := c.dst.(transport.ManifestTagger); ok && tag != "" {
			err = mt.PushTagged(ctx, n.desc, bytes.NewReader(n.raw), tag)
		} else {
			err = c.dst.Push(ctx, n.desc, bytes.NewReader(n.raw))
		}
		if err != nil {
			return struct{}{}, dstErr(n.desc, err)
		}
		c.manifestsCopied.Add(1)
		c.bytes.Add(int64(len(n.raw)))
		c.rep.emit(Event{Kind: KindImageDone, Desc: n.desc})
		return struct{}{}, nil
	})
	return err
}
