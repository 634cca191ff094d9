package served

import (
	"context"
	"io"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Repository is one repository of a Backend: the store.Store seam plus what the
// distribution API's delete and untagged pushes need. *store.FS and the S3 store's
// repositories implement it.
type Repository interface {
	store.Store
	// Untag removes tag; the manifest it named stays. A missing tag matches
	// errdef.ErrNotFound.
	Untag(ctx context.Context, tag string) error
	// AddRoot records the stored manifest desc as an untagged root, so a
	// collector keeps it.
	AddRoot(ctx context.Context, desc oci.Descriptor) error
	// DeleteManifest removes manifest d, every tag naming it and its root
	// record. A manifest the repository does not hold matches
	// errdef.ErrNotFound.
	DeleteManifest(ctx context.Context, d digest.Digest) error
	// Delete removes blob d from the repository (other repositories keep
	// theirs). A blob the repository does not hold matches errdef.ErrNotFound.
	Delete(ctx context.Context, d digest.Digest) error
	// WalkBlobs calls fn for every blob (manifests included) the repository
	// holds, with its size.
	WalkBlobs(ctx context.Context, fn func(d digest.Digest, size int64) error) error
	// Close releases what the open repository holds (a data directory's
	// layout keeps its directory open); streams it returned stay readable.
	Close() error
}

// Repositories opens, creates and lists the repositories of a Backend, and
// stores blobs into them. Put and Mount take Repository values that came from
// the same Backend; each implementation accepts only its own kind.
type Repositories interface {
	// Repo opens the existing repository name: one never pushed to matches
	// errdef.ErrNotFound, a bad name errdef.ErrInvalid.
	Repo(ctx context.Context, name string) (Repository, error)
	// CreateRepo opens the repository name, creating it if needed.
	CreateRepo(ctx context.Context, name string) (Repository, error)
	// Repositories lists every repository name in lexical order.
	Repositories(ctx context.Context) ([]string, error)
	// DeleteRepo removes repository name, its tags, manifests and records;
	// the blobs no other repository holds go at the next collection. One
	// that does not exist matches errdef.ErrNotFound.
	DeleteRepo(ctx context.Context, name string) error
	// Put stores r as the blob desc describes (verified; nothing partial is
	// visible) and makes it part of repo.
	Put(ctx context.Context, repo Repository, desc oci.Descriptor, r io.Reader) error
	// Mount makes blob d of repository from (nil: of any repository) part of
	// repo without moving its bytes and returns its size; a blob the source
	// lacks matches errdef.ErrNotFound.
	Mount(ctx context.Context, repo Repository, d digest.Digest, from Repository) (int64, error)
}

// Uploads are the blob upload sessions of the distribution API. Sessions
// live in the storage, not in a process, so any process sharing the
// storage can continue one.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
type Uploads interface {
	// StartUpload opens a session in repository repo.
	StartUpload(ctx context.Context, repo string) (Upload, error)
	// UploadStatus returns a session; one that does not exist or belongs to
	// another repository matches errdef.ErrNotFound.
	UploadStatus(ctx context.Context, repo, id string) (Upload, error)
	// WriteUpload appends a chunk that starts at start (< 0: wherever the
	// session ends) and is size bytes long (< 0: unknown). A chunk that does
	// not start where the session ends fails with an *OffsetError.
	WriteUpload(ctx context.Context, repo, id string, start, size int64, body io.Reader) (Upload, error)
	// CommitUpload appends a last chunk (body may be nil), checks the whole
	// upload hashes to d, makes it blob d of repository repo and ends the
	// session; it returns the blob's size. A wrong digest stores nothing.
	CommitUpload(ctx context.Context, repo, id string, d digest.Digest, start, size int64, body io.Reader) (int64, error)
	// CancelUpload ends a session and discards its bytes.
	CancelUpload(ctx context.Context, repo, id string) error
	// ExpireUploads removes sessions started before cutoff, returning how many.
	ExpireUploads(ctx context.Context, cutoff time.Time) (int, error)
	// CountUploads returns how many sessions exist.
	CountUploads(ctx context.Context) (int, error)
}

// Referrers records which manifests of a repository name a subject.
//
// distribution-spec v1.1.1 §Listing referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
type Referrers interface {
	// AddReferrer records referrer as having subject.
	AddReferrer(ctx context.Context, repo string, subject, referrer digest.Digest) error
	// RemoveReferrer forgets it; forgetting one never recorded is no error.
	RemoveReferrer(ctx context.Context, repo string, subject, referrer digest.Digest) error
	// Referrers lists the recorded referrers of subject; none is no error.
	// The record is an index: callers check each referrer still exists.
	Referrers(ctx context.Context, repo string, subject digest.Digest) ([]digest.Digest, error)
}

// Collector removes what no tag, root or referrer reaches and what is older
// than the grace period.
type Collector interface {
	GC(ctx context.Context, opts GCOptions) (GCReport, error)
}

// Backend is everything the registry keeps: what registryhttp serves and
// cmd/stevedore collects. Root (a data directory, through Root.Backend) and
// the S3 store's Root (a bucket shared by replicas) implement it.
type Backend interface {
	Repositories
	Uploads
	Referrers
	Collector
}

var (
	_ Repository = (*store.FS)(nil)
	_ Backend    = rootBackend{}
)

// BlobLocator is an optional capability of a Repository whose blobs a client
// can fetch without the serving process: an object store's presigned URL.
type BlobLocator interface {
	// BlobURL returns a URL that serves blob d (GET, Range honoured) for
	// about ttl, or an error matching errdef.ErrNotFound when the repository
	// does not hold d.
	BlobURL(ctx context.Context, d digest.Digest, ttl time.Duration) (string, error)
}
