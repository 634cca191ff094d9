package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-dev/stevedore/engine"
	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Options tune a run; the zero value mirrors for real, with the config's
// concurrency, silently.
type Options struct {
	// DryRun resolves both sides and reports what would be copied
	// (ActionWouldCopy) without writing anything.
	DryRun bool
	// Concurrency, when > 0, overrides Config.Concurrency.
	Concurrency int
	// Progress, if set, receives each image's report as it finishes, one
	// call at a time.
	Progress func(ImageReport)
	// Policy, if set, is checked for every image before anything of it is
	// written: an image it refuses fails (code DENIED) and the run goes on.
	// An image it lets through is copied by the digest that was verified,
	// with its referrers, so its signatures verify at the destination too.
	Policy *policy.Policy
}

// job is one image to mirror.
type job struct {
	src, dst  oci.Reference // dst has src's tag, or none for a digest-only source
	srcRepo   repoClient
	dstRepo   *destRepo
	platforms []string
	referrers bool
}

// runner holds the state of one Run.
type runner struct {
	eng  *engine.Engine
	cfg  *Config
	opts Options

	// limiter bounds blob transfers per registry host across the run's images.
	limiter *imgcopy.HostLimiter

	mu  sync.Mutex
	src map[string]repoClient
	dst map[string]*destRepo

	progressMu sync.Mutex
}

// Run mirrors what cfg describes through eng's registry clients and returns
// the report. It keeps going when an image fails: failures are entries of
// the report (see Report.Failed), and the error is non-nil only for a
// config that does not validate.
func Run(ctx context.Context, eng *engine.Engine, cfg *Config, opts Options) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A registry the engine may not reach fails the whole run at once, not
	// image by image.
	for _, host := range cfg.Registries() {
		if err := eng.CheckRegistry(host); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	r := &runner{eng: eng, cfg: cfg, opts: opts, src: map[string]repoClient{}, dst: map[string]*destRepo{}, limiter: imgcopy.NewHostLimiter(cfg.PerRegistry)}
	conc := cfg.Concurrency
	if opts.Concurrency > 0 {
		conc = opts.Concurrency
	}
	if conc <= 0 {
		conc = 8
	}

	// Plan: one slot of jobs (or one listing failure) per source, in config
	// order, listed in parallel.
	type slot struct {
		jobs []job
		fail []ImageReport
	}
	slots := make([]slot, len(cfg.Sources))
	r.parallel(ctx, len(cfg.Sources), conc, func(i int) {
		slots[i].jobs, slots[i].fail = r.plan(ctx, cfg.Sources[i])
	})

	rep := &Report{DryRun: opts.DryRun, Started: start}
	var jobs []job
	var order []int // index into rep.Images for each job
	seen := map[string]bool{}
	for _, s := range slots {
		for _, f := range s.fail {
			rep.Images = append(rep.Images, f)
			r.progress(f)
		}
		for _, j := range s.jobs {
			// An image two sources name (a repository's tag and an
			// images: entry) is mirrored once, as the first names it.
			key := j.src.String() + " " + j.dst.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			order = append(order, len(rep.Images))
			rep.Images = append(rep.Images, ImageReport{})
			jobs = append(jobs, j)
		}
	}
	r.parallel(ctx, len(jobs), conc, func(i int) {
		im := r.image(ctx, jobs[i])
		rep.Images[order[i]] = im
		r.progress(im)
	})
	for _, im := range rep.Images {
		rep.Summary.add(im)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// parallel runs fn(0..n-1), at most limit at once. A cancelled ctx still
// runs every fn, which then fails fast, so every image gets its entry.
func (r *runner) parallel(ctx context.Context, n, limit int, fn func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

func (r *runner) progress(im ImageReport) {
	if r.opts.Progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	r.opts.Progress(im)
}

// plan turns a source into jobs, listing and filtering tags for a repository.
func (r *runner) plan(ctx context.Context, s Source) ([]job, []ImageReport) {
	dest := merged(r.cfg.Destination, s.Destination)
	platforms := r.cfg.Platforms
	if s.Platforms != nil {
		platforms = s.Platforms
	}
	referrers := r.cfg.Referrers
	if s.Referrers != nil {
		referrers = *s.Referrers
	}
	var refs []oci.Reference
	if s.Repository != "" {
		repo, _ := parseRepository(s.Repository) // checked by Validate
		failed := func(err error) []ImageReport {
			return []ImageReport{{Source: "docker://" + repo.Name(), Action: ActionFailed, Error: errorInfo(err, imgcopy.OriginSource)}}
		}
		rc, err := r.source(ctx, repo)
		if err != nil {
			return nil, failed(err)
		}
		tags, err := rc.Tags(ctx)
		if err != nil {
			return nil, failed(fmt.Errorf("listing tags of %s: %w", repo.Name(), err))
		}
		for _, t := range s.Tags.Apply(tags) {
			ref := repo
			ref.Tag = t
			refs = append(refs, ref)
		}
	} else {
		for _, im := range s.Images {
			ref, _ := parseImage(im) // checked by Validate
			refs = append(refs, ref)
		}
	}
	var jobs []job
	var fails []ImageReport
	for _, ref := range refs {
		j, err := r.job(ctx, ref, dest)
		if err != nil {
			fails = append(fails, ImageReport{Source: "docker://" + ref.String(), Action: ActionFailed, Error: errorInfo(err, "")})
			continue
		}
		j.platforms, j.referrers = platforms, referrers
		jobs = append(jobs, j)
	}
	return jobs, fails
}

// job maps one source image to its destination and clients.
func (r *runner) job(ctx context.Context, src oci.Reference, dest Destination) (job, error) {
	dst, err := dest.Map(src.Repository)
	if err != nil {
		return job{}, fmt.Errorf("mapping %s to the destination: %w", src.Name(), err)
	}
	dst.Tag, dst.Digest = src.Tag, ""
	sr, err := r.source(ctx, src)
	if err != nil {
		return job{}, err
	}
	dr, err := r.destination(ctx, dst)
	if err != nil {
		return job{}, err
	}
	return job{src: src, dst: dst, srcRepo: sr, dstRepo: dr}, nil
}

// source returns the run's one client for ref's repository, so that its
// token and connections serve every tag.
func (r *runner) source(ctx context.Context, ref oci.Reference) (repoClient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rc, ok := r.src[ref.Name()]; ok {
		return rc, nil
	}
	s, err := r.eng.Open(ctx, transport.Ref{Transport: transport.Docker, Image: ref})
	if err != nil {
		return nil, err
	}
	rc, ok := asRepoClient(s)
	if !ok {
		return nil, fmt.Errorf("%s: source client lacks registry capabilities: %w", ref.Name(), errdef.ErrUnsupported)
	}
	r.src[ref.Name()] = rc
	return rc, nil
}

// destination returns the run's one destRepo for ref's repository.
func (r *runner) destination(ctx context.Context, ref oci.Reference) (*destRepo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.dst[ref.Name()]; ok {
		return d, nil
	}
	t, err := r.eng.OpenTarget(ctx, transport.Ref{Transport: transport.Docker, Image: ref})
	if err != nil {
		return nil, err
	}
	rc, ok := asRepoClient(t)
	if !ok {
		return nil, fmt.Errorf("%s: destination client lacks registry capabilities: %w", ref.Name(), errdef.ErrUnsupported)
	}
	d := newDestRepo(rc)
	r.dst[ref.Name()] = d
	return d, nil
}

// image mirrors one image: a HEAD at each side decides whether anything is
// to be done, and only then does copy run.
//
// distribution-spec v1.1.1 §Checking if content exists in the registry:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
func (r *runner) image(ctx context.Context, j job) ImageReport {
	start := time.Now()
	im := ImageReport{Source: "docker://" + j.src.String(), Destination: "docker://" + j.dst.String()}
	if j.dst.Tag == "" {
		im.Destination = "docker://" + j.dst.Name() + "@" + j.src.Digest.String()
	}
	finish := func(action string, err error, origin string) ImageReport {
		im.Action = action
		if err != nil {
			im.Error = errorInfo(err, origin)
		}
		im.Seconds = time.Since(start).Seconds()
		return im
	}

	// A tag the destination lacks (its tag list says so, as for every tag
	// of a cold run) needs the source manifest whole: one GET gives its
	// digest and bytes where a HEAD and a GET would take two requests. A
	// tag it has is asked about at both sides at once, with HEADs, which
	// is all a skip needs.
	var (
		cur  oci.Descriptor
		root oci.Descriptor
		raw  []byte
		err  error
	)
	curErr := errdef.ErrNotFound
	if j.dst.Tag == "" || j.dstRepo.lacksTag(ctx, j.dst.Tag) {
		root, raw, err = resolveSource(ctx, j.srcRepo, j.src.Identifier(), j.dst.Tag != "" && !r.opts.DryRun)
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			cur, curErr = j.dstRepo.Resolve(ctx, j.dst.Tag)
		}()
		root, err = j.srcRepo.Resolve(ctx, j.src.Identifier())
		<-done
		if curErr != nil && !errors.Is(curErr, errdef.ErrNotFound) {
			return finish(ActionFailed, curErr, imgcopy.OriginDestination)
		}
	}
	if err != nil {
		return finish(ActionFailed, err, imgcopy.OriginSource)
	}
	if pol := r.opts.Policy; pol != nil {
		// Checked by digest: the tag cannot move between check and copy.
		if _, err := pol.Check(ctx, j.srcRepo, root.Digest.String(), j.src.Name()); err != nil {
			im.SourceDigest = root.Digest
			return finish(ActionFailed, err, imgcopy.OriginSource)
		}
		j.referrers = true
	}
	ps := &pinnedSource{repoClient: j.srcRepo, root: root, raw: raw}
	copts := imgcopy.Options{Concurrency: r.cfg.BlobConcurrency, Referrers: j.referrers, Limiter: r.limiter}
	want := root
	if oci.IsIndex(root.MediaType) {
		switch len(j.platforms) {
		case 0:
		case 1:
			if want, ps.raw, err = choose(ctx, ps, root, j.platforms[0]); err != nil {
				return finish(ActionFailed, err, imgcopy.OriginSource)
			}
			copts.Platform = j.platforms[0]
		default:
			// The copy builds an index of just these platforms; its digest,
			// which the destination tag is compared with, is known now.
			if want, ps.raw, err = filtered(ctx, ps, root, j.platforms); err != nil {
				return finish(ActionFailed, err, imgcopy.OriginSource)
			}
			copts.Platforms = j.platforms
			im.Note = fmt.Sprintf("platforms %s: a filtered index of source index %s", strings.Join(j.platforms, ","), root.Digest)
		}
	}
	im.SourceDigest = want.Digest

	var present bool
	if j.dst.Tag != "" {
		switch {
		case curErr == nil && cur.Digest == want.Digest:
			present = true
		case curErr == nil:
			im.Reason, im.PreviousDigest = ReasonMoved, cur.Digest
		default:
			im.Reason = ReasonNew
		}
	} else {
		ok, err := j.dstRepo.repoClient.Exists(ctx, want)
		if err != nil {
			return finish(ActionFailed, err, imgcopy.OriginDestination)
		}
		present = ok
		if !ok {
			im.Reason = ReasonNew
		}
	}
	if present && !j.referrers {
		return finish(ActionSkipped, nil, "")
	}
	if r.opts.DryRun {
		if present {
			return finish(ActionSkipped, nil, "")
		}
		return finish(ActionWouldCopy, nil, "")
	}

	t := newImageTarget(j.dstRepo, want.Digest)
	tag := j.dst.Tag
	if present {
		// Only referrers can be missing: copy finds the image present and
		// looks for new signatures and SBOMs, and the tag is left alone.
		tag = ""
	}
	res, err := imgcopy.Copy(ctx, ps, root.Digest.String(), t, tag, copts)
	t.release()
	im.Bytes = t.bytesSent.Load()
	im.BlobsCopied = int(t.blobsSent.Load())
	if err != nil {
		return finish(ActionFailed, err, "")
	}
	im.BlobsSkipped = res.BlobsSkipped + res.BlobsCopied - im.BlobsCopied
	im.BlobsMounted = res.BlobsMounted
	im.Referrers = res.Referrers
	if present {
		return finish(ActionSkipped, nil, "")
	}
	return finish(ActionCopied, nil, "")
}

// manifestGetter is implemented by registry clients that read a manifest
// by tag in one request (registry.Repository.GetManifest).
type manifestGetter interface {
	GetManifest(ctx context.Context, ref string) (*oci.Manifest, error)
}

// resolveSource returns the descriptor of the source manifest ref names
// and, when whole is set and the source can give them in the same request,
// its bytes (verified against the registry's digest; copy verifies them
// again). Otherwise it asks with a HEAD.
//
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func resolveSource(ctx context.Context, src repoClient, ref string, whole bool) (oci.Descriptor, []byte, error) {
	if mg, ok := src.(manifestGetter); ok && whole {
		m, err := mg.GetManifest(ctx, ref)
		if err != nil {
			return oci.Descriptor{}, nil, err
		}
		return m.Descriptor(), m.Raw, nil
	}
	d, err := src.Resolve(ctx, ref)
	return d, nil, err
}

// filtered reads an index and returns the filtered index a copy with
// Options.Platforms builds of it, with the source index's bytes so copy
// need not fetch them again.
//
// image-spec v1.1.1 image-index.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md
func filtered(ctx context.Context, src transport.Source, index oci.Descriptor, platforms []string) (oci.Descriptor, []byte, error) {
	raw, err := readIndex(ctx, src, index)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	d, _, err := imgcopy.FilterIndex(index, raw, platforms)
	return d, raw, err
}

// readIndex reads an index whole, bounded and verified.
func readIndex(ctx context.Context, src transport.Source, index oci.Descriptor) ([]byte, error) {
	rc, err := src.Fetch(ctx, index)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return oci.ReadAllVerified(rc, index.Digest, index.Size, oci.DefaultManifestLimit)
}

// choose reads an index and returns its manifest for platform
// (os/arch[/variant]; no variant matches any), as copy will pick it, with
// the index's bytes so copy need not fetch them again.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func choose(ctx context.Context, src transport.Source, index oci.Descriptor, platform string) (oci.Descriptor, []byte, error) {
	raw, err := readIndex(ctx, src, index)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	m, err := oci.ParseManifest(index.MediaType, raw)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	want, err := oci.ParsePlatform(platform)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	d, ok := oci.ChoosePlatform(m, want)
	if !ok {
		return oci.Descriptor{}, nil, fmt.Errorf("index %s has no manifest for platform %s: %w", index.Digest, platform, errdef.ErrNotFound)
	}
	return d, raw, nil
}
