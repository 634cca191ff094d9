package served

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// The referrers record of a repository is a tree of empty marker files beside
// its layout: repos/<name>/_referrers/<alg>/<hex-of-subject>/<alg>-<hex-of-referrer>.
// Creating or removing one file is atomic, so concurrent manifest PUTs need no
// lock, and the record is only an index: callers check each referrer still
// exists in the layout and still names the subject before reporting it.
//
// distribution-spec v1.1.1 §Listing referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers

func (r *Root) referrerDir(repo string, subject digest.Digest) (string, error) {
	dir, err := r.repoDir(repo)
	if err != nil {
		return "", err
	}
	if err := oci.ValidateDigest(subject); err != nil {
		return "", err
	}
	return filepath.Join(dir, repoReferrers, subject.Algorithm().String(), subject.Encoded()), nil
}

func markerName(d digest.Digest) string { return d.Algorithm().String() + "-" + d.Encoded() }

// AddReferrer records that manifest referrer of repository repo has subject.
func (r *Root) AddReferrer(ctx context.Context, repo string, subject, referrer digest.Digest) error {
	fail := func(err error) error { return &Error{Op: "referrer", Digest: referrer, Err: err} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	dir, err := r.referrerDir(repo, subject)
	if err != nil {
		return fail(err)
	}
	if err := oci.ValidateDigest(referrer); err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	fh, err := os.OpenFile(filepath.Join(dir, markerName(referrer)), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fail(err)
	}
	return fh.Close()
}

// RemoveReferrer forgets referrer as a referrer of subject; forgetting one
// not recorded is not an error.
func (r *Root) RemoveReferrer(ctx context.Context, repo string, subject, referrer digest.Digest) error {
	dir, err := r.referrerDir(repo, subject)
	if err != nil {
		return &Error{Op: "referrer", Digest: referrer, Err: err}
	}
	if err := os.Remove(filepath.Join(dir, markerName(referrer))); err != nil && !os.IsNotExist(err) {
		return &Error{Op: "referrer", Digest: referrer, Err: err}
	}
	return nil
}

// Referrers returns the digests recorded as referrers of subject in
// repository repo, in lexical order; none is not an error.
func (r *Root) Referrers(ctx context.Context, repo string, subject digest.Digest) ([]digest.Digest, error) {
	fail := func(err error) ([]digest.Digest, error) {
		return nil, &Error{Op: "referrers", Digest: subject, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	dir, err := r.referrerDir(repo, subject)
	if err != nil {
		return fail(err)
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return fail(err)
	}
	var out []digest.Digest
	for _, e := range entries {
		alg, hex, ok := strings.Cut(e.Name(), "-")
		d := digest.Digest(alg + ":" + hex)
		if !ok || d.Validate() != nil {
			continue // not ours; a stray file must not break the listing
		}
		out = append(out, d)
	}
	return out, nil
}
