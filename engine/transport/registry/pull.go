package registry

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// manifestAccept offers every manifest type stevedore reads, plus schema1 so
// that an old image is answered as such and refused with a clear error
// rather than a confusing 404.
var manifestAccept = strings.Join(append(append([]string{}, oci.ManifestMediaTypes...),
	oci.MediaTypeDockerSchema1Signed, oci.MediaTypeDockerSchema1), ", ")

// parseRef splits a Resolve argument into a digest or a tag, validated so
// neither can smuggle path segments into a URL.
func parseRef(ref string) (digest.Digest, error) {
	if strings.Contains(ref, ":") {
		d := digest.Digest(ref)
		return d, oci.ValidateDigest(d)
	}
	return "", oci.ValidateTag(ref)
}

// Resolve returns the descriptor of the manifest ref (a tag or a digest)
// names. It asks with HEAD and falls back to GET when the registry refuses
// HEAD or leaves out the digest, type or length. A digest ref is checked
// against what the registry reports.
//
// distribution-spec v1.1.1 §Pulling manifests and §Checking if content exists:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
func (r *Repository) Resolve(ctx context.Context, ref string) (oci.Descriptor, error) {
	if ref == "" {
		return oci.Descriptor{}, fmt.Errorf("resolving in %s/%s: a tag or digest is needed: %w", r.host, r.name, errdef.ErrInvalid)
	}
	want, err := parseRef(ref)
	if err != nil {
		return oci.Descriptor{}, err
	}
	u, err := r.url(ctx, "manifests/"+ref)
	if err != nil {
		return oci.Descriptor{}, err
	}
	resp, err := r.send(ctx, &request{method: http.MethodHead, url: u, header: http.Header{"Accept": {manifestAccept}}})
	if err != nil {
		return oci.Descriptor{}, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		resp.Body.Close()
		mt := contentType(resp)
		if oci.IsSchema1(mt) {
			return oci.Descriptor{}, schema1Error(u)
		}
		d := digest.Digest(resp.Header.Get("Docker-Content-Digest"))
		if oci.IsManifest(mt) && d.Validate() == nil && resp.ContentLength >= 0 {
			if want != "" && d != want {
				return oci.Descriptor{}, fmt.Errorf("HEAD %s: registry reports digest %s: %w", u, d, errdef.ErrDigestMismatch)
			}
			return oci.Descriptor{MediaType: mt, Digest: d, Size: resp.ContentLength}, nil
		}
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
	default:
		_, err := expect(resp, http.StatusOK)
		return oci.Descriptor{}, err
	}
	m, err := r.getManifest(ctx, u, want, -1, false)
	if err != nil {
		return oci.Descriptor{}, err
	}
	return m.Descriptor(), nil
}

// getManifest GETs a manifest (bounded by oci.DefaultManifestLimit) and
// parses it. With want set the bytes must hash to it; otherwise to the
// registry's Docker-Content-Digest if sent (in its algorithm), else
// the digest is computed with sha256.
//
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func (r *Repository) getManifest(ctx context.Context, u string, want digest.Digest, size int64, push bool) (*oci.Manifest, error) {
	resp, err := r.send(ctx, &request{method: http.MethodGet, url: u, header: http.Header{"Accept": {manifestAccept}}, push: push})
	if err != nil {
		return nil, err
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	mt := contentType(resp)
	if oci.IsSchema1(mt) {
		return nil, schema1Error(u)
	}
	if size < 0 {
		size = resp.ContentLength
	}
	d := want
	if d == "" {
		if hd := digest.Digest(resp.Header.Get("Docker-Content-Digest")); hd.Validate() == nil {
			d = hd
		}
	}
	var raw []byte
	if d != "" {
		raw, err = oci.ReadAllVerified(resp.Body, d, size, oci.DefaultManifestLimit)
	} else {
		raw, err = oci.ReadAllLimited(resp.Body, oci.DefaultManifestLimit)
		d = digest.FromBytes(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	m, err := oci.ParseManifest(mt, raw)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	m.Digest = d
	return m, nil
}

func schema1Error(u string) error {
	return fmt.Errorf("%s is a docker schema1 manifest, which is not supported (re-push the image with a current client): %w", u, errdef.ErrUnsupported)
}

// contentType returns the response's media type without parameters.
func contentType(resp *http.Response) string {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// contentPath returns the API path of desc's content: manifests are read
// from the manifests endpoint, everything else as a blob.
func contentPath(desc oci.Descriptor) string {
	if oci.IsManifest(desc.MediaType) || oci.IsSchema1(desc.MediaType) {
		return "manifests/" + desc.Digest.String()
	}
	return "blobs/" + desc.Digest.String()
}

// Fetch streams desc's content, verified against its digest and size (a
// size of -1 skips the size check only). Blob downloads follow redirects;
// see Options.Client for what a redirect carries.
//
// distribution-spec v1.1.1 §Pulling blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func (r *Repository) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return nil, err
	}
	u, err := r.url(ctx, contentPath(desc))
	if err != nil {
		return nil, err
	}
	q := &request{method: http.MethodGet, url: u}
	if strings.HasPrefix(contentPath(desc), "manifests/") {
		q.header = http.Header{"Accept": {manifestAccept}}
	}
	resp, err := r.send(ctx, q)
	if err != nil {
		return nil, err
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		return nil, err
	}
	return readCloser{oci.NewVerifyReader(resp.Body, desc.Digest, desc.Size), resp.Body}, nil
}

// FetchRange streams length bytes (< 0: to the end) of desc's content from
// offset, unverified. A registry that ignores Range and answers 200 is
// handled by skipping to offset in the stream.
//
// distribution-spec v1.1.1 §Pulling blobs (Range requests):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func (r *Repository) FetchRange(ctx context.Context, desc oci.Descriptor, offset, length int64) (io.ReadCloser, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("range offset %d is negative: %w", offset, errdef.ErrInvalid)
	}
	if length == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	u, err := r.url(ctx, contentPath(desc))
	if err != nil {
		return nil, err
	}
	rng := "bytes=" + strconv.FormatInt(offset, 10) + "-"
	if length > 0 {
		rng += strconv.FormatInt(offset+length-1, 10)
	}
	resp, err := r.send(ctx, &request{method: http.MethodGet, url: u, header: http.Header{"Range": {rng}}})
	if err != nil {
		return nil, err
	}
	if resp, err = expect(resp, http.StatusPartialContent, http.StatusOK); err != nil {
		return nil, err
	}
	var body io.Reader = resp.Body
	if resp.StatusCode == http.StatusPartialContent {
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); ok && start != offset {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: asked for bytes from %d, registry sent from %d: %w", u, offset, start, errdef.ErrUnsupported)
		}
	} else if offset > 0 {
		// The whole blob came back: skip to offset without buffering it.
		if n, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			resp.Body.Close()
			if err == io.EOF {
				return nil, fmt.Errorf("GET %s: offset %d is past the end of the %d byte blob: %w", u, offset, n, errdef.ErrInvalid)
			}
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
	}
	if length > 0 {
		body = io.LimitReader(body, length)
	}
	return readCloser{body, resp.Body}, nil
}

// rangeStart parses the first byte position of "bytes first-last/total".
func rangeStart(v string) (int64, bool) {
	s, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	return n, err == nil
}

// StatBlob returns a blob's digest and size from a HEAD request.
//
// distribution-spec v1.1.1 §Checking if content exists in the registry:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
func (r *Repository) StatBlob(ctx context.Context, d digest.Digest) (oci.Descriptor, error) {
	if err := oci.ValidateDigest(d); err != nil {
		return oci.Descriptor{}, err
	}
	u, err := r.url(ctx, "blobs/"+d.String())
	if err != nil {
		return oci.Descriptor{}, err
	}
	resp, err := r.send(ctx, &request{method: http.MethodHead, url: u})
	if err != nil {
		return oci.Descriptor{}, err
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		return oci.Descriptor{}, err
	}
	resp.Body.Close()
	if hd := resp.Header.Get("Docker-Content-Digest"); hd != "" && digest.Digest(hd) != d {
		return oci.Descriptor{}, fmt.Errorf("HEAD %s: registry reports digest %s: %w", u, hd, errdef.ErrDigestMismatch)
	}
	return oci.Descriptor{Digest: d, Size: resp.ContentLength}, nil
}

// readCloser pairs a wrapping reader with the body it must close.
type readCloser struct {
	io.Reader
	io.Closer
}
