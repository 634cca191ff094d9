package registryhttp

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// parseDigest validates a digest from the path or query; a malformed one is
// DIGEST_INVALID, never a path.
func parseDigest(s string) (digest.Digest, error) {
	d := digest.Digest(s)
	if err := oci.ValidateDigest(d); err != nil {
		return "", fail(classDigestInvalid, err.Error())
	}
	return d, nil
}

func (reg *Registry) routeBlob(w http.ResponseWriter, r *http.Request, name, ref string) error {
	if err := allow(r, http.MethodGet, http.MethodHead, http.MethodDelete); err != nil {
		return err
	}
	d, err := parseDigest(ref)
	if err != nil {
		return err
	}
	repo, err := reg.repo(r, name)
	if err != nil {
		return err
	}
	if r.Method == http.MethodDelete {
		return reg.deleteBlob(w, r, repo, d)
	}
	return reg.getBlob(w, r, repo, d)
}

// getBlob serves a blob straight from its file: http.ServeContent handles
// Range and lets the kernel copy the bytes (sendfile). Blobs were verified when
// they were stored; re-hashing every GET would halve throughput.
// distribution-spec v1.1.1 §Pulling blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func (reg *Registry) getBlob(w http.ResponseWriter, r *http.Request, repo served.Repository, d digest.Digest) error {
	if loc, ok := repo.(served.BlobLocator); ok && reg.opts.BlobRedirect && r.Method == http.MethodGet {
		return redirectBlob(w, r, loc, d)
	}
	f, size, err := repo.Open(r.Context(), d)
	if err != nil {
		return notFound(err, "blob "+d.String()+" unknown")
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Etag", `"`+d.String()+`"`)
	h.Set("Accept-Ranges", "bytes")
	// RFC 9110 §14.2: a Range in a unit other than bytes is ignored.
	if rg := r.Header.Get("Range"); rg != "" && !strings.HasPrefix(rg, "bytes=") {
		r.Header.Del("Range")
	}
	if r.Header.Get("Range") == "" {
		h.Set("Content-Length", itoa(size))
	}
	// Content is immutable: a zero modtime disables If-Modified-Since handling.
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

// blobURLTTL is how long a redirect's presigned URL stays valid: long
// enough for a slow client to start the download, short enough that a
// leaked URL is of little use.
const blobURLTTL = 15 * time.Minute

// redirectBlob answers 307 to a URL the object store serves the blob at, so
// its bytes skip the replica. Clients follow it with their Range header.
//
// distribution-spec v1.1.1 §Pulling blobs (a 307 redirect is allowed):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func redirectBlob(w http.ResponseWriter, r *http.Request, loc served.BlobLocator, d digest.Digest) error {
	u, err := loc.BlobURL(r.Context(), d, blobURLTTL)
	if err != nil {
		return notFound(err, "blob "+d.String()+" unknown")
	}
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Location", u)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusTemporaryRedirect)
	return nil
}

// deleteBlob removes the blob from this repository only; other repositories
// linking the same file keep it.
// distribution-spec v1.1.1 §Deleting blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-blobs
func (reg *Registry) deleteBlob(w http.ResponseWriter, r *http.Request, repo served.Repository, d digest.Digest) error {
	if err := repo.Delete(r.Context(), d); err != nil {
		return notFound(err, "blob "+d.String()+" unknown")
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
