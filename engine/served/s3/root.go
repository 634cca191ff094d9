package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Root is a registry's whole state in one bucket — repositories, their
// blobs, tags, untagged roots and referrers, upload sessions and the
// collector's lease — so that any number of stateless `stevedore serve`
// replicas can share it and any of them can serve any request, including
// the next chunk of an upload another replica started. It implements
// served.Backend.
//
// Keys, beside the Store's blobs/ and repos/<name>/_tags/:
//
//	_repos/<name, escaped>                    the repository exists
//	repos/<name>/_blobs/<alg>/<hex>           the repository holds the blob
//	repos/<name>/_manifests/<alg>/<hex>       an untagged root (descriptor JSON)
//	repos/<name>/_referrers/<alg>/<subject-hex>/<alg>-<referrer-hex>
//	uploads/<uuid>/session                    {repo, started}
//	uploads/<uuid>/chunk/<offset, 20 digits>  one PATCH body each
//	uploads/<uuid>/hash/<end, 20 digits>      sha256 state after the chunk ending there
//	gc/lease                                  {holder, expires}
//
// Every create is If-None-Match: * and every read-modify-write a
// compare-and-swap, so replicas need no lock service; S3 reads and lists are
// strongly consistent.
type Root struct {
	s *Store // no repository: sees every blob
}

var _ served.Backend = (*Root)(nil)

// NewRoot opens the bucket opts names as a registry's state; opts.Repository
// is ignored.
func NewRoot(ctx context.Context, opts Options) (*Root, error) {
	opts.Repository = ""
	s, err := New(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Root{s: s}, nil
}

// Store returns the bucket's blob store, shared by all repositories.
func (r *Root) Store() *Store { return r.s }

// ProbeConditionalWrites checks the server honours conditional writes (see
// Store.ProbeConditionalWrites); replicas must not share a bucket otherwise.
func (r *Root) ProbeConditionalWrites(ctx context.Context) error {
	return r.s.ProbeConditionalWrites(ctx)
}

// repo is repository name with membership markers on.
func (r *Root) repo(name string) (*Store, error) {
	rs, err := r.s.Repo(name)
	if err != nil {
		return nil, err
	}
	rs.members = true
	return rs, nil
}

// Repo opens the existing repository name.
func (r *Root) Repo(ctx context.Context, name string) (served.Repository, error) {
	rs, err := r.repo(name)
	if err != nil {
		return nil, err
	}
	if err := r.s.head(ctx, r.s.keys.repoMark(name)); err != nil {
		return nil, &store.Error{Op: "open", Err: fmt.Errorf("repository %q: %w", name, err)}
	}
	return rs, nil
}

// CreateRepo opens the repository name, creating it if needed.
func (r *Root) CreateRepo(ctx context.Context, name string) (served.Repository, error) {
	rs, err := r.repo(name)
	if err != nil {
		return nil, err
	}
	if err := r.s.createOnce(ctx, r.s.keys.repoMark(name), nil); err != nil {
		return nil, &store.Error{Op: "create", Err: fmt.Errorf("repository %q: %w", name, err)}
	}
	return rs, nil
}

// Repositories lists every repository in lexical order.
func (r *Root) Repositories(ctx context.Context) ([]string, error) {
	prefix := r.s.keys.repoMarks()
	objs, err := r.s.list(ctx, prefix)
	if err != nil {
		return nil, &store.Error{Op: "repositories", Err: err}
	}
	names := []string{}
	for _, o := range objs {
		name, err := url.PathUnescape(strings.TrimPrefix(o.key, prefix))
		if err != nil || oci.ValidateRepository(name) != nil {
			continue // not ours
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// Put stores the blob once in the global namespace and marks repo as
// holding it.
func (r *Root) Put(ctx context.Context, repo served.Repository, desc oci.Descriptor, rd io.Reader) error {
	rs, err := r.own(repo)
	if err != nil {
		return &store.Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	return rs.Put(ctx, desc, rd)
}

// Mount marks repo as holding blob d of from (nil: of any repository, i.e.
// the global namespace); no bytes move.
//
// distribution-spec v1.1.1 §Mounting a blob from another repository:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository
func (r *Root) Mount(ctx context.Context, repo served.Repository, d digest.Digest, from served.Repository) (int64, error) {
	fail := func(err error) (int64, error) { return 0, &store.Error{Op: "mount", Digest: d, Err: err} }
	dst, err := r.own(repo)
	if err != nil {
		return fail(err)
	}
	src := r.s
	if from != nil {
		if src, err = r.own(from); err != nil {
			return fail(err)
		}
	}
	size, err := src.statMember(ctx, d)
	if err != nil {
		return fail(err)
	}
	if err := dst.addMember(ctx, d); err != nil {
		return fail(err)
	}
	return size, nil
}

// own accepts only repositories of this bucket.
func (r *Root) own(repo served.Repository) (*Store, error) {
	rs, ok := repo.(*Store)
	if !ok || rs == nil || !rs.members || rs.bucket != r.s.bucket || rs.keys != r.s.keys {
		return nil, fmt.Errorf("repository %T is not one of bucket %q: %w", repo, r.s.bucket, errdef.ErrInvalid)
	}
	return rs, nil
}

// AddReferrer records that manifest referrer of repository repo has subject,
// as an empty marker: creating one object is atomic, so concurrent manifest
// PUTs on any replicas need no lock.
//
// distribution-spec v1.1.1 §Listing referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
func (r *Root) AddReferrer(ctx context.Context, repo string, subject, referrer digest.Digest) error {
	key, err := r.referrerKey(repo, subject, referrer)
	if err == nil {
		_, err = r.s.putRecord(ctx, key, nil, false, "")
	}
	if err != nil {
		return &store.Error{Op: "referrer", Digest: referrer, Err: err}
	}
	return nil
}

// RemoveReferrer forgets referrer as a referrer of subject.
func (r *Root) RemoveReferrer(ctx context.Context, repo string, subject, referrer digest.Digest) error {
	key, err := r.referrerKey(repo, subject, referrer)
	if err == nil {
		err = r.s.remove(ctx, key)
	}
	if err != nil {
		return &store.Error{Op: "referrer", Digest: referrer, Err: err}
	}
	return nil
}

// Referrers lists the recorded referrers of subject in repository repo.
func (r *Root) Referrers(ctx context.Context, repo string, subject digest.Digest) ([]digest.Digest, error) {
	fail := func(err error) ([]digest.Digest, error) {
		return nil, &store.Error{Op: "referrers", Digest: subject, Err: err}
	}
	if err := checkRepo(repo); err != nil {
		return fail(err)
	}
	if err := oci.ValidateDigest(subject); err != nil {
		return fail(err)
	}
	prefix := r.s.keys.referrersOf(repo, subject)
	objs, err := r.s.list(ctx, prefix)
	if err != nil {
		return fail(err)
	}
	var out []digest.Digest
	for _, o := range objs {
		if d, ok := markerDigest(strings.TrimPrefix(o.key, prefix)); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (r *Root) referrerKey(repo string, subject, referrer digest.Digest) (string, error) {
	if err := checkRepo(repo); err != nil {
		return "", err
	}
	if err := oci.ValidateDigest(subject); err != nil {
		return "", err
	}
	if err := oci.ValidateDigest(referrer); err != nil {
		return "", err
	}
	return r.s.keys.referrer(repo, subject, referrer), nil
}

// markerDigest parses a referrer marker's name, <alg>-<hex>.
func markerDigest(name string) (digest.Digest, bool) {
	alg, hex, ok := strings.Cut(name, "-")
	d := digest.Digest(alg + ":" + hex)
	return d, ok && oci.ValidateDigest(d) == nil
}

func checkRepo(name string) error {
	if err := oci.ValidateRepository(name); err != nil {
		return fmt.Errorf("repository %q: %v: %w", name, err, errdef.ErrInvalid)
	}
	return nil
}

// DeleteRepo removes repository name: its tags, membership markers,
// untagged-root records, referrer markers and its repository record. Blobs
// no repository holds any more go at the next collection.
func (r *Root) DeleteRepo(ctx context.Context, name string) error {
	if err := oci.ValidateRepository(name); err != nil {
		return &store.Error{Op: "delete", Err: fmt.Errorf("repository %q: %v: %w", name, err, errdef.ErrInvalid)}
	}
	if err := r.s.head(ctx, r.s.keys.repoMark(name)); err != nil {
		return &store.Error{Op: "delete", Err: fmt.Errorf("repository %s: %w", name, err)}
	}
	for _, prefix := range []string{r.s.keys.tags(name), r.s.keys.members(name), r.s.keys.manifests(name), r.s.keys.referrers(name)} {
		objs, err := r.s.list(ctx, prefix)
		if err != nil {
			return &store.Error{Op: "delete", Err: err}
		}
		for _, o := range objs {
			if err := r.s.remove(ctx, o.key); err != nil && !errors.Is(err, errdef.ErrNotFound) {
				return &store.Error{Op: "delete", Err: err}
			}
		}
	}
	if err := r.s.remove(ctx, r.s.keys.repoMark(name)); err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return &store.Error{Op: "delete", Err: err}
	}
	return nil
}
