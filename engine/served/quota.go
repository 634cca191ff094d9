package served

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/glob"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Quota bounds what the repositories matching a glob hold together.
type Quota struct {
	// Name labels the quota in refusals and metrics; "" means Repositories.
	Name string `json:"name,omitempty"`
	// Repositories is the engine/glob pattern of the names it covers.
	Repositories string `json:"repositories"`
	// MaxBytes bounds the bytes of the covered repositories: each counts
	// every blob and manifest it holds once, so a blob two of them hold
	// counts once in each (what deleting either repository would give
	// back to the other). 0 means no bound.
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// MaxRepositories bounds how many repositories it covers; 0 means no
	// bound.
	MaxRepositories int `json:"maxRepositories,omitempty"`
}

// Label is the quota's name, or its pattern when it has none.
func (q Quota) Label() string {
	if q.Name != "" {
		return q.Name
	}
	return q.Repositories
}

// QuotaUsage is a quota with what its repositories hold now.
type QuotaUsage struct {
	Quota
	UsedBytes       int64 `json:"usedBytes"`
	RepositoryCount int   `json:"repositoryCount"`
}

// QuotaOptions tune WithQuotas.
type QuotaOptions struct {
	// Refresh is how long a repository's measured size is trusted before it
	// is measured again (writes through this backend keep it current; the
	// measure catches what other processes did: a replica's pushes, an
	// offline stevedore gc). <= 0 means a minute.
	Refresh time.Duration
	// Denied, if set, is called with each refusal's quota.
	Denied func(Quota)
}

// QuotaBackend is a Backend whose writes the quotas hold: a push that would
// take a quota's repositories past MaxBytes, or create one repository more
// than MaxRepositories, is refused with a *RejectError (errdef.CodeDenied,
// errdef.ErrDenied) naming the quota. Every writer of the served store
// passes through it — the OCI port's uploads, mounts and manifest PUTs, and
// the API's store: copies — so no edge can go around it.
//
// Refusals come before any byte is stored when the size is known (a blob
// Put, an upload chunk or closing PUT with a Content-Length, a committed
// session) and after the commit otherwise (a body of unknown length, a
// mount from any repository), when the repository gives the blob back at
// once: nothing over quota stays in it.
//
// Sizes are measured per repository (WalkBlobs) when first needed and
// after Refresh, and kept current in between by this process's own writes;
// concurrent pushes reserve their bytes, so together they cannot overshoot.
type QuotaBackend struct {
	Backend
	quotas []Quota
	opts   QuotaOptions
	now    func() time.Time

	mu      sync.Mutex
	repos   map[string]*repoSize
	names   []string // every repository, as last listed
	namesAt time.Time
	pending map[string]bool // "repo@digest" charges not yet settled
	active  map[string]int  // per repository: handles open and commits under way
}

// repoSize is one repository's measured size plus what is on its way in.
type repoSize struct {
	bytes   int64 // measured, plus settled charges since
	pending int64 // reserved by charges not yet settled
	at      time.Time
	gen     int // bumped by each measure: charges reserved before do not add to it
	stale   bool
}

// WithQuotas returns b held to quotas, each checked with Check first.
func WithQuotas(b Backend, quotas []Quota, opts QuotaOptions) (*QuotaBackend, error) {
	for _, q := range quotas {
		if err := q.Check(); err != nil {
			return nil, err
		}
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Minute
	}
	return &QuotaBackend{
		Backend: b, quotas: slices.Clone(quotas), opts: opts, now: time.Now,
		repos: map[string]*repoSize{}, pending: map[string]bool{}, active: map[string]int{},
	}, nil
}

// Check rejects a quota that bounds nothing or whose pattern is malformed.
func (q Quota) Check() error {
	if err := glob.Check(q.Repositories); err != nil {
		return fmt.Errorf("quota %s: repositories: %w", q.Label(), err)
	}
	if q.MaxBytes < 0 || q.MaxRepositories < 0 || (q.MaxBytes == 0 && q.MaxRepositories == 0) {
		return fmt.Errorf("quota %s: set maxBytes or maxRepositories (positive): %w", q.Label(), errdef.ErrInvalid)
	}
	return nil
}

// Quotas returns the quotas b enforces.
func (b *QuotaBackend) Quotas() []Quota { return slices.Clone(b.quotas) }

// Usage measures every quota now (sizes older than Refresh are measured
// again), for metrics and reports.
func (b *QuotaBackend) Usage(ctx context.Context) ([]QuotaUsage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]QuotaUsage, 0, len(b.quotas))
	for _, q := range b.quotas {
		used, n, err := b.usedLocked(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, QuotaUsage{Quota: q, UsedBytes: used, RepositoryCount: n})
	}
	return out, nil
}

// quotaRepo is a repository handed out by a QuotaBackend: it carries its
// name, which charges need, and forgets its size when something is deleted
// from it. The backend's methods unwrap it before the storage sees it.
type quotaRepo struct {
	Repository
	b     *QuotaBackend
	name  string
	close sync.Once
}

// Close closes the repository and ends its use.
func (r *quotaRepo) Close() error {
	err := r.Repository.Close()
	r.close.Do(func() { r.b.leave(r.name) })
	return err
}

// quotaLocatorRepo keeps a repository's presigned URLs (BlobLocator).
type quotaLocatorRepo struct {
	*quotaRepo
	BlobLocator
}

func (r *quotaRepo) Delete(ctx context.Context, d digest.Digest) error {
	defer r.b.forget(r.name)
	return r.Repository.Delete(ctx, d)
}

func (r *quotaRepo) DeleteManifest(ctx context.Context, d digest.Digest) error {
	defer r.b.forget(r.name)
	return r.Repository.DeleteManifest(ctx, d)
}

func (b *QuotaBackend) wrap(name string, repo Repository) Repository {
	qr := &quotaRepo{Repository: repo, b: b, name: name}
	if loc, ok := repo.(BlobLocator); ok {
		return &quotaLocatorRepo{quotaRepo: qr, BlobLocator: loc}
	}
	return qr
}

// unwrap returns the storage's own repository and the name of one this
// backend handed out.
func unwrap(repo Repository) (Repository, string) {
	switch r := repo.(type) {
	case *quotaRepo:
		return r.Repository, r.name
	case *quotaLocatorRepo:
		return r.Repository, r.name
	}
	return repo, ""
}

// enter counts a use of repository name (an open handle, a commit under
// way) before it begins, so that a refusal never removes a repository
// someone else is writing; leave ends it.
func (b *QuotaBackend) enter(name string) {
	b.mu.Lock()
	b.active[name]++
	b.mu.Unlock()
}

func (b *QuotaBackend) leave(name string) {
	b.mu.Lock()
	if b.active[name]--; b.active[name] <= 0 {
		delete(b.active, name)
	}
	b.mu.Unlock()
}

// Repo opens repository name.
func (b *QuotaBackend) Repo(ctx context.Context, name string) (Repository, error) {
	b.enter(name)
	repo, err := b.Backend.Repo(ctx, name)
	if err != nil {
		b.leave(name)
		return nil, err
	}
	return b.wrap(name, repo), nil
}

// CreateRepo opens repository name, creating it if the quotas leave room
// for one more repository.
func (b *QuotaBackend) CreateRepo(ctx context.Context, name string) (Repository, error) {
	b.enter(name)
	if b.countsRepos(name) {
		repo, err := b.Backend.Repo(ctx, name)
		if err == nil {
			return b.wrap(name, repo), nil
		}
		// Anything but "not found" (a layout another push is creating this
		// instant) means the repository is not new.
		if errors.Is(err, errdef.ErrNotFound) {
			if err := b.checkNewRepo(ctx, name); err != nil {
				b.leave(name)
				return nil, err
			}
		}
	}
	repo, err := b.Backend.CreateRepo(ctx, name)
	if err != nil {
		b.leave(name)
		return nil, err
	}
	b.noteRepo(name)
	return b.wrap(name, repo), nil
}

// noteRepo adds repository name, which exists now, to the listing.
func (b *QuotaBackend) noteRepo(name string) {
	b.mu.Lock()
	if !b.namesAt.IsZero() && !slices.Contains(b.names, name) {
		b.names = append(b.names, name)
	}
	b.mu.Unlock()
}

// refused returns err, a refusal of a write into repository name by the
// one use of it under way, after removing the repository if it holds
// nothing: the push that created it a moment ago (a mount's target, the
// API's first blob) leaves no trace then. A repository anyone else is
// using meanwhile is left alone.
func (b *QuotaBackend) refused(ctx context.Context, name string, repo Repository, err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active[name] != 1 {
		return err
	}
	empty := true
	if werr := repo.WalkBlobs(ctx, func(digest.Digest, int64) error {
		empty = false
		return errStopWalk
	}); werr != nil && !errors.Is(werr, errStopWalk) {
		return err
	}
	if tags, terr := repo.Tags(ctx); terr != nil || len(tags) > 0 {
		empty = false
	}
	if empty && b.Backend.DeleteRepo(ctx, name) == nil {
		delete(b.repos, name)
		b.names = slices.DeleteFunc(b.names, func(n string) bool { return n == name })
	}
	return err
}

var errStopWalk = errors.New("stop")

// DeleteRepo removes repository name and forgets its size.
func (b *QuotaBackend) DeleteRepo(ctx context.Context, name string) error {
	err := b.Backend.DeleteRepo(ctx, name)
	b.mu.Lock()
	delete(b.repos, name)
	b.namesAt = time.Time{}
	b.mu.Unlock()
	return err
}

// Put stores a blob whose size is known, refused before a byte is read when
// it would take a quota past its bound.
func (b *QuotaBackend) Put(ctx context.Context, repo Repository, desc oci.Descriptor, r io.Reader) error {
	inner, name := unwrap(repo)
	settle, err := b.charge(ctx, name, inner, desc.Digest, desc.Size)
	if err != nil {
		return b.refused(ctx, name, inner, err)
	}
	err = b.Backend.Put(ctx, inner, desc, r)
	settle(err == nil)
	return err
}

// Mount links blob d into repo: charged up front when the source repository
// says its size, checked after the link (and undone when over) otherwise.
func (b *QuotaBackend) Mount(ctx context.Context, repo Repository, d digest.Digest, from Repository) (int64, error) {
	inner, name := unwrap(repo)
	var src Repository
	if from != nil {
		src, _ = unwrap(from)
	}
	if src != nil {
		size, err := src.Stat(ctx, d)
		if err != nil {
			return 0, err
		}
		settle, err := b.charge(ctx, name, inner, d, size)
		if err != nil {
			return 0, b.refused(ctx, name, inner, err)
		}
		n, err := b.Backend.Mount(ctx, inner, d, src)
		settle(err == nil)
		return n, err
	}
	if _, err := inner.Stat(ctx, d); err == nil {
		return b.Backend.Mount(ctx, inner, d, nil)
	}
	n, err := b.Backend.Mount(ctx, inner, d, nil)
	if err != nil {
		return n, err
	}
	if err := b.admitAfter(ctx, name, inner, d, n); err != nil {
		return 0, b.refused(ctx, name, inner, err)
	}
	return n, nil
}

// StartUpload opens a session, refused when the repository would be one
// too many or a quota over it has no byte left.
func (b *QuotaBackend) StartUpload(ctx context.Context, repo string) (Upload, error) {
	if err := b.checkNewRepo(ctx, repo); err != nil {
		return Upload{}, err
	}
	if err := b.checkRoom(ctx, repo, 1); err != nil {
		return Upload{}, err
	}
	return b.Backend.StartUpload(ctx, repo)
}

// WriteUpload appends a chunk, refused before it is stored when its length
// is known and the session would outgrow what the quotas leave.
func (b *QuotaBackend) WriteUpload(ctx context.Context, repo, id string, start, size int64, body io.Reader) (Upload, error) {
	if size > 0 && b.covered(repo, true) {
		up, err := b.Backend.UploadStatus(ctx, repo, id)
		if err != nil {
			return Upload{}, err
		}
		if err := b.checkRoom(ctx, repo, up.Offset+size); err != nil {
			return Upload{}, err
		}
	}
	return b.Backend.WriteUpload(ctx, repo, id, start, size, body)
}

// CommitUpload closes a session. The blob's size is known before the
// commit unless the last chunk's length is not: then the blob is admitted
// after, and given back when over. A refused session is cancelled, so
// nothing of the push stays in storage.
func (b *QuotaBackend) CommitUpload(ctx context.Context, repo, id string, d digest.Digest, start, size int64, body io.Reader) (int64, error) {
	b.enter(repo)
	defer b.leave(repo)
	if !b.covered(repo, true) {
		n, err := b.Backend.CommitUpload(ctx, repo, id, d, start, size, body)
		if err == nil {
			b.noteRepo(repo)
		}
		return n, err
	}
	if body == nil || size >= 0 {
		up, err := b.Backend.UploadStatus(ctx, repo, id)
		if err != nil {
			return 0, err
		}
		total := up.Offset
		if body != nil {
			total += size
		}
		inner, err := b.Backend.Repo(ctx, repo)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			inner = nil
		case err != nil:
			return 0, err
		default:
			defer inner.Close()
		}
		settle, err := b.charge(ctx, repo, inner, d, total)
		if err != nil {
			_ = b.Backend.CancelUpload(ctx, repo, id)
			return 0, err
		}
		n, err := b.Backend.CommitUpload(ctx, repo, id, d, start, size, body)
		settle(err == nil)
		if err == nil {
			b.noteRepo(repo)
		}
		return n, err
	}
	n, err := b.Backend.CommitUpload(ctx, repo, id, d, start, size, body)
	if err != nil {
		return n, err
	}
	b.noteRepo(repo)
	inner, err := b.Backend.Repo(ctx, repo)
	if err != nil {
		return n, err
	}
	defer inner.Close()
	if err := b.admitAfter(ctx, repo, inner, d, n); err != nil {
		return 0, b.refused(ctx, repo, inner, err)
	}
	return n, nil
}

// GC collects garbage; every measured size is stale after it.
func (b *QuotaBackend) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	rep, err := b.Backend.GC(ctx, opts)
	if !opts.DryRun {
		b.mu.Lock()
		for _, s := range b.repos {
			s.stale = true
		}
		b.namesAt = time.Time{}
		b.mu.Unlock()
	}
	return rep, err
}

// Touch keeps the storage's Toucher capability (see keepManifest).
func (b *QuotaBackend) Touch(ctx context.Context, repo Repository, ds ...digest.Digest) error {
	t, ok := b.Backend.(Toucher)
	if !ok {
		return nil
	}
	inner, _ := unwrap(repo)
	return t.Touch(ctx, inner, ds...)
}

var _ Toucher = (*QuotaBackend)(nil)

// forget marks repository name's size as needing a measure.
func (b *QuotaBackend) forget(name string) {
	b.mu.Lock()
	if s := b.repos[name]; s != nil {
		s.stale = true
	}
	b.mu.Unlock()
}

// covered reports whether a quota covers repository name (with a byte
// bound, when bytes is set).
func (b *QuotaBackend) covered(name string, bytes bool) bool {
	for _, q := range b.quotas {
		if glob.Match(q.Repositories, name) && (!bytes || q.MaxBytes > 0) {
			return true
		}
	}
	return false
}

// charge reserves size bytes for blob d entering repository name (whose
// storage repository is repo, nil when it does not exist yet), or refuses
// them. A blob the repository holds already costs nothing, as does a second
// concurrent charge of the same blob. settle(true) makes the charge part of
// the size; settle(false) releases it.
func (b *QuotaBackend) charge(ctx context.Context, name string, repo Repository, d digest.Digest, size int64) (settle func(ok bool), err error) {
	noop := func(bool) {}
	if name == "" || size <= 0 || !b.covered(name, true) {
		return noop, nil
	}
	if repo != nil {
		if _, err := repo.Stat(ctx, d); err == nil {
			return noop, nil
		}
	}
	key := name + "@" + d.String()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending[key] {
		return noop, nil
	}
	if err := b.checkLocked(ctx, name, size); err != nil {
		return nil, err
	}
	s := b.repos[name] // measured by checkLocked
	gen := s.gen
	s.pending += size
	b.pending[key] = true
	return func(ok bool) {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.pending, key)
		s.pending -= size
		if ok {
			if s.gen == gen {
				s.bytes += size
			} else {
				s.stale = true // measured meanwhile: it may or may not have seen the blob
			}
		}
	}, nil
}

// admitAfter keeps blob d, already linked into repository name with size
// n, if the quotas have room for it, and otherwise takes it back out.
func (b *QuotaBackend) admitAfter(ctx context.Context, name string, repo Repository, d digest.Digest, n int64) error {
	if !b.covered(name, true) {
		return nil
	}
	b.mu.Lock()
	s := b.repos[name]
	if s != nil {
		s.stale = true // it holds d now; the measure below counts it
	}
	err := b.checkLocked(ctx, name, 0)
	b.mu.Unlock()
	if err == nil {
		return nil
	}
	if rerr := repo.Delete(ctx, d); rerr != nil && !errors.Is(rerr, errdef.ErrNotFound) {
		return errors.Join(err, rerr)
	}
	b.forget(name)
	return err
}

// checkRoom refuses when adding size bytes to repository name would take a
// quota past its bound; it reserves nothing.
func (b *QuotaBackend) checkRoom(ctx context.Context, name string, size int64) error {
	if !b.covered(name, true) {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.checkLocked(ctx, name, size)
}

// checkLocked refuses size more bytes in repository name when a quota
// covering it would go over (with size 0: when one is over already).
func (b *QuotaBackend) checkLocked(ctx context.Context, name string, size int64) error {
	if _, err := b.sizeLocked(ctx, name); err != nil {
		return err
	}
	for _, q := range b.quotas {
		if q.MaxBytes == 0 || !glob.Match(q.Repositories, name) {
			continue
		}
		used, _, err := b.usedLocked(ctx, q)
		if err != nil {
			return err
		}
		if used+size > q.MaxBytes || (size == 0 && used > q.MaxBytes) {
			return b.deny(q, "quota %s: repositories %s hold %s of %s, and this push to %s needs %s more",
				q.Label(), q.Repositories, humanBytes(used), humanBytes(q.MaxBytes), name, humanBytes(size))
		}
	}
	return nil
}

// checkNewRepo refuses to create repository name when a quota covering it
// has its count of repositories already.
func (b *QuotaBackend) checkNewRepo(ctx context.Context, name string) error {
	if !b.countsRepos(name) {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	names, err := b.namesLocked(ctx)
	if err != nil || slices.Contains(names, name) {
		return err
	}
	for _, q := range b.quotas {
		if q.MaxRepositories == 0 || !glob.Match(q.Repositories, name) {
			continue
		}
		n := 0
		for _, other := range names {
			if glob.Match(q.Repositories, other) {
				n++
			}
		}
		if n >= q.MaxRepositories {
			return b.deny(q, "quota %s: repositories %s number %d of the %d allowed; %s would be one more",
				q.Label(), q.Repositories, n, q.MaxRepositories, name)
		}
	}
	return nil
}

// countsRepos reports whether a quota bounds the number of repositories
// like name.
func (b *QuotaBackend) countsRepos(name string) bool {
	for _, q := range b.quotas {
		if q.MaxRepositories > 0 && glob.Match(q.Repositories, name) {
			return true
		}
	}
	return false
}

func (b *QuotaBackend) deny(q Quota, format string, args ...any) error {
	if b.opts.Denied != nil {
		b.opts.Denied(q)
	}
	return reject(errdef.CodeDenied, errdef.ErrDenied, format, args...)
}

// usedLocked sums the sizes (settled and reserved) of the repositories q
// covers and counts them. A repository created since the last listing
// counts by the size this backend knows of it.
func (b *QuotaBackend) usedLocked(ctx context.Context, q Quota) (int64, int, error) {
	names, err := b.namesLocked(ctx)
	if err != nil {
		return 0, 0, err
	}
	var used int64
	n := 0
	listed := make(map[string]bool, len(names))
	for _, name := range names {
		listed[name] = true
		if !glob.Match(q.Repositories, name) {
			continue
		}
		n++
		if q.MaxBytes == 0 {
			continue
		}
		s, err := b.sizeLocked(ctx, name)
		if err != nil {
			return 0, 0, err
		}
		used += s.bytes + s.pending
	}
	for name, s := range b.repos {
		if !listed[name] && glob.Match(q.Repositories, name) {
			used += s.bytes + s.pending
		}
	}
	return used, n, nil
}

// namesLocked lists the repositories, again once the list is older than
// Refresh.
func (b *QuotaBackend) namesLocked(ctx context.Context) ([]string, error) {
	if now := b.now(); b.namesAt.IsZero() || now.Sub(b.namesAt) > b.opts.Refresh {
		names, err := b.Backend.Repositories(ctx)
		if err != nil {
			return nil, err
		}
		b.names, b.namesAt = names, now
	}
	return b.names, nil
}

// sizeLocked returns repository name's size record, measuring it when it
// is missing, stale or older than Refresh. A repository that does not
// exist (yet) holds nothing.
func (b *QuotaBackend) sizeLocked(ctx context.Context, name string) (*repoSize, error) {
	s := b.repos[name]
	now := b.now()
	if s != nil && !s.stale && now.Sub(s.at) <= b.opts.Refresh {
		return s, nil
	}
	if s == nil {
		s = &repoSize{}
		b.repos[name] = s
	}
	var total int64
	repo, err := b.Backend.Repo(ctx, name)
	switch {
	case errors.Is(err, errdef.ErrNotFound):
	case errors.Is(err, errdef.ErrInvalid):
		// Not a readable repository (yet: another push may be creating its
		// layout this instant); it holds nothing until it is.
		s.bytes, s.at, s.stale = 0, now, true
		s.gen++
		return s, nil
	case err != nil:
		return nil, err
	default:
		err = repo.WalkBlobs(ctx, func(_ digest.Digest, size int64) error {
			total += size
			return nil
		})
		repo.Close()
		if err != nil {
			return nil, err
		}
	}
	s.bytes, s.at, s.stale = total, now, false
	s.gen++
	return s, nil
}

// humanBytes writes n in binary units, as refusals show it.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
