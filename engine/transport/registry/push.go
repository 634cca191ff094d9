package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Exists reports whether desc's content is in the repository, asking the
// manifests or blobs endpoint according to its media type. It asks with
// push scope: a Target checks before it pushes, and one token then serves both.
//
// distribution-spec v1.1.1 §Checking if content exists in the registry:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
func (r *Repository) Exists(ctx context.Context, desc oci.Descriptor) (bool, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return false, err
	}
	u, err := r.url(ctx, contentPath(desc))
	if err != nil {
		return false, err
	}
	q := &request{method: http.MethodHead, url: u, push: true}
	if oci.IsManifest(desc.MediaType) {
		q.header = http.Header{"Accept": {manifestAccept}}
	}
	resp, err := r.send(ctx, q)
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		resp.Body.Close()
		return true, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return false, nil
	}
	_, err = expect(resp, http.StatusOK)
	return false, err
}

// Push uploads r as desc's content. A manifest (by media type) is read whole,
// bounded and verified, then PUT by digest; anything else is streamed as a
// monolithic blob upload with its declared length, and a stream that does not
// match desc fails with a *oci.VerifyError before the upload completes.
//
// distribution-spec v1.1.1 §Pushing manifests and §POST then PUT:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#post-then-put
func (r *Repository) Push(ctx context.Context, desc oci.Descriptor, rd io.Reader) error {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	if oci.IsManifest(desc.MediaType) {
		raw, err := oci.ReadAllVerified(rd, desc.Digest, desc.Size, oci.DefaultManifestLimit)
		if err != nil {
			return err
		}
		return r.pushManifest(ctx, desc, raw)
	}
	return r.pushBlob(ctx, desc, rd)
}

// pushBlob is the monolithic POST-then-PUT upload. A single PUT keeps the
// blob streaming from its source to the wire; chunked uploads (resumable,
// but needing state across requests) are a separate capability.
func (r *Repository) pushBlob(ctx context.Context, desc oci.Descriptor, rd io.Reader) error {
	return r.uploadBlob(ctx, desc, rd, nil, false)
}

// uploadBlob is pushBlob with, when reopen is set, a PUT that can be resent
// (after a 429, a 5xx or a dropped connection) with the content read again.
// verified says rd (and what reopen gives) already checks itself against
// desc at EOF, as a copy's source stream does: hashing it a second time
// here would double the CPU of every upload for nothing.
func (r *Repository) uploadBlob(ctx context.Context, desc oci.Descriptor, rd io.Reader, reopen func() (io.Reader, error), verified bool) error {
	u, err := r.url(ctx, "blobs/uploads/")
	if err != nil {
		return err
	}
	// The POST carries no body, so its 401 can be answered and retried; the
	// token it earns then covers the one-shot PUT.
	resp, err := r.send(ctx, &request{method: http.MethodPost, url: u, push: true})
	if err != nil {
		return err
	}
	if resp, err = expect(resp, http.StatusAccepted); err != nil {
		return err
	}
	drain(resp)
	loc := resp.Header.Get("Location")
	if loc == "" {
		return fmt.Errorf("POST %s: registry gave no upload Location: %w", u, errdef.ErrUnsupported)
	}
	target, err := uploadURL(resp.Request.URL, loc, desc.Digest.String())
	if err != nil {
		return fmt.Errorf("POST %s: %w", u, err)
	}
	q := &request{method: http.MethodPut, url: target, push: true,
		header: http.Header{"Content-Type": {"application/octet-stream"}}}
	if desc.Size == 0 {
		// An empty body would never be read, so verify it here; the request
		// is then replayable.
		if _, err := io.Copy(io.Discard, oci.NewVerifyReader(rd, desc.Digest, 0)); err != nil {
			return err
		}
		q.body = []byte{}
	} else {
		verify := func(rd io.Reader) io.Reader {
			if !verified {
				rd = oci.NewVerifyReader(rd, desc.Digest, desc.Size)
			}
			return endChecked(rd, desc.Size)
		}
		q.stream, q.size = verify(rd), desc.Size
		if reopen != nil {
			q.reopen = func() (io.Reader, error) {
				rd, err := reopen()
				if err != nil {
					return nil, err
				}
				return verify(rd), nil
			}
		}
	}
	resp, err = r.send(ctx, q)
	if err != nil {
		return err
	}
	if resp, err = expect(resp, http.StatusCreated); err != nil {
		return err
	}
	drain(resp)
	return nil
}

// uploadURL resolves an upload Location (absolute or relative to the POST)
// and adds the digest parameter, keeping the registry's own parameters
// byte-for-byte (they often carry opaque upload state).
func uploadURL(base *url.URL, loc, dgst string) (string, error) {
	l, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("bad upload Location %q: %w", loc, errdef.ErrUnsupported)
	}
	u := base.ResolveReference(l)
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += "digest=" + url.QueryEscape(dgst)
	return u.String(), nil
}

// Tag points tag at the manifest desc: it reads the manifest back by digest
// (bounded and verified) and PUTs the same bytes under the tag, which is the
// only way the distribution-spec offers to tag.
//
// distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func (r *Repository) Tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	if err := checkTag(tag); err != nil {
		return err
	}
	u, err := r.url(ctx, "manifests/"+desc.Digest.String())
	if err != nil {
		return err
	}
	m, err := r.getManifest(ctx, u, desc.Digest, desc.Size, true)
	if err != nil {
		return err
	}
	mt := desc.MediaType
	if !oci.IsManifest(mt) {
		mt = m.MediaType
	}
	return r.putManifest(ctx, tag, mt, m.Raw, desc.Digest)
}

// putManifest PUTs raw under ref (a digest or tag).
//
// distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func (r *Repository) putManifest(ctx context.Context, ref, mediaType string, raw []byte, want digest.Digest) error {
	u, err := r.url(ctx, "manifests/"+ref)
	if err != nil {
		return err
	}
	resp, err := r.send(ctx, &request{method: http.MethodPut, url: u, body: raw, push: true,
		header: http.Header{"Content-Type": {mediaType}}})
	if err != nil {
		return err
	}
	if resp, err = expect(resp, http.StatusCreated, http.StatusOK); err != nil {
		return err
	}
	drain(resp)
	return checkStoredDigest(resp, want)
}
