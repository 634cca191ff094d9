package registryhttp

import (
	"errors"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// isDigestRef tells a digest reference from a tag: tags cannot hold ':'.
func isDigestRef(ref string) bool { return served.IsDigestRef(ref) }

func (reg *Registry) routeManifest(w http.ResponseWriter, r *http.Request, name, ref string) error {
	if err := allow(r, http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete); err != nil {
		return err
	}
	if isDigestRef(ref) {
		if _, err := parseDigest(ref); err != nil {
			return err
		}
	} else if err := served.ValidateTag(ref); err != nil {
		// MANIFEST_INVALID on a push, MANIFEST_UNKNOWN on a read (errorTable).
		return fail(classInvalid, err.Error())
	}
	if r.Method == http.MethodPut {
		return reg.putManifest(w, r, name, ref)
	}
	repo, err := reg.repo(r, name)
	if err != nil {
		return err
	}
	if r.Method == http.MethodDelete {
		return reg.deleteManifest(w, r, name, repo, ref)
	}
	if reg.opts.Pulls != nil {
		forget := reg.opts.Pulls.RecordPull(name, ref)
		err := reg.getManifest(w, r, repo, ref)
		if err != nil {
			forget()
		}
		return err
	}
	return reg.getManifest(w, r, repo, ref)
}

// readManifest resolves ref and reads the manifest whole (bounded), verified
// against its digest: a corrupt manifest is never served. Anything that is
// not a readable manifest is MANIFEST_UNKNOWN. A manifest read before comes
// from the cache once the repository confirms it still holds it.
func (reg *Registry) readManifest(r *http.Request, repo served.Repository, ref string) (*oci.Manifest, error) {
	ctx := r.Context()
	unknown := fail(classNotFound, "manifest "+ref+" unknown")
	desc := oci.Descriptor{Digest: digest.Digest(ref), Size: -1}
	if !isDigestRef(ref) {
		var err error
		if desc, err = repo.Resolve(ctx, ref); err != nil {
			return nil, notFound(err, unknown.msg)
		}
	}
	key := manifestKey{desc.Digest, desc.MediaType}
	if m := reg.manifests.get(key); m != nil {
		if _, err := repo.Stat(ctx, desc.Digest); err != nil {
			return nil, notFound(err, unknown.msg)
		}
		return m, nil
	}
	m, err := served.ReadManifestAt(ctx, repo, desc)
	if err != nil {
		return nil, notFound(err, unknown.msg)
	}
	reg.manifests.put(key, m)
	return m, nil
}

// getManifest serves a manifest by tag or digest, as its raw stored bytes.
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func (reg *Registry) getManifest(w http.ResponseWriter, r *http.Request, repo served.Repository, ref string) error {
	m, err := reg.readManifest(r, repo, ref)
	if err != nil {
		return err
	}
	return writeManifest(w, r, m)
}

// writeManifest sends m's raw bytes (none for HEAD).
func writeManifest(w http.ResponseWriter, r *http.Request, m *oci.Manifest) error {
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Docker-Content-Digest", m.Digest.String())
	h.Set("Etag", `"`+m.Digest.String()+`"`)
	h.Set("Content-Length", itoa(int64(len(m.Raw))))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(m.Raw)
	return err
}

// putManifest validates and stores a manifest, then tags it: by the tag in
// the path, or by each ?tag= when pushed by digest.
//
// distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
// and §Pushing manifests with subject:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests-with-subject
func (reg *Registry) putManifest(w http.ResponseWriter, r *http.Request, name, ref string) error {
	ctx := r.Context()
	tooLarge := fail(classTooLarge, "manifest over the 4 MiB limit")
	if r.ContentLength > oci.DefaultManifestLimit {
		return tooLarge
	}
	body := &clientBody{r: r.Body}
	raw, err := oci.ReadAllLimited(body, oci.DefaultManifestLimit)
	if errors.Is(err, errdef.ErrTooLarge) {
		return tooLarge
	} else if err != nil {
		return body.bodyError(err)
	}
	put := served.ManifestPut{MediaType: r.Header.Get("Content-Type")}
	if isDigestRef(ref) {
		put.Digest = digest.Digest(ref)
	} else {
		put.Tags = append(put.Tags, ref)
	}
	for _, t := range r.URL.Query()["tag"] {
		if err := served.ValidateTag(t); err != nil {
			return fail(classInvalid, err.Error())
		}
		put.Tags = append(put.Tags, t)
	}
	// The store validates, checks references, creates the repository only
	// for a manifest that passed (a refused push leaves none in the
	// catalog), records the referrer and tags: the same rules as the API's
	// writes to store: references.
	m, err := served.PutManifest(ctx, reg.root, name, raw, put)
	if err != nil {
		return err
	}
	tags := put.Tags
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/manifests/"+m.Digest.String())
	h.Set("Docker-Content-Digest", m.Digest.String())
	if m.Subject != nil {
		h.Set("OCI-Subject", m.Subject.Digest.String())
	}
	for _, t := range tags {
		h.Add("OCI-Tag", t)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteManifest deletes a manifest by digest (and every tag naming it), or
// only a tag.
//
// distribution-spec v1.1.1 §Deleting manifests and §Deleting tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-manifests
func (reg *Registry) deleteManifest(w http.ResponseWriter, r *http.Request, name string, repo served.Repository, ref string) error {
	ctx := r.Context()
	unknown := "manifest " + ref + " unknown"
	if !isDigestRef(ref) {
		if err := repo.Untag(ctx, ref); err != nil {
			return notFound(err, unknown)
		}
	} else {
		if err := served.DeleteManifest(ctx, reg.root, name, repo, digest.Digest(ref)); err != nil {
			return notFound(err, unknown)
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
