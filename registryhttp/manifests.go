package registryhttp

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// tagRE is the distribution-spec tag grammar.
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// isDigestRef tells a digest reference from a tag: tags cannot hold ':'.
func isDigestRef(ref string) bool { return strings.Contains(ref, ":") }

func (reg *Registry) routeManifest(w http.ResponseWriter, r *http.Request, name, ref string) error {
	if err := allow(r, http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete); err != nil {
		return err
	}
	if isDigestRef(ref) {
		if _, err := parseDigest(ref); err != nil {
			return err
		}
	} else if !tagRE.MatchString(ref) {
		// MANIFEST_INVALID on a push, MANIFEST_UNKNOWN on a read (errorTable).
		return fail(classInvalid, "tag "+ref+" does not match "+tagRE.String())
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
	return reg.getManifest(w, r, repo, ref)
}

// readManifest resolves ref and reads the manifest whole (bounded), verified
// against its digest: a corrupt manifest is never served. Anything that is
// not a readable manifest is MANIFEST_UNKNOWN. A manifest read before comes
// from the cache once the repository confirms it still holds it.
func (reg *Registry) readManifest(r *http.Request, repo store.Repository, ref string) (*oci.Manifest, error) {
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
	f, size, err := repo.Open(ctx, desc.Digest)
	if err != nil {
		return nil, notFound(err, unknown.msg)
	}
	defer f.Close()
	raw, err := oci.ReadAllVerified(f, desc.Digest, size, oci.DefaultManifestLimit)
	if err != nil {
		if errors.Is(err, errdef.ErrTooLarge) {
			return nil, unknown // a layer addressed as a manifest
		}
		// Stored bytes that no longer match their digest are the server's
		// fault, whatever class the reader gave them.
		return nil, fmt.Errorf("stored manifest %s: %v", desc.Digest, err)
	}
	// By tag, index.json's media type is the one it was pushed with; by
	// digest the document says (or its shape does).
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return nil, unknown
	}
	m.Digest = desc.Digest
	reg.manifests.put(key, m)
	return m, nil
}

// getManifest serves a manifest by tag or digest, as its raw stored bytes.
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func (reg *Registry) getManifest(w http.ResponseWriter, r *http.Request, repo store.Repository, ref string) error {
	m, err := reg.readManifest(r, repo, ref)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Docker-Content-Digest", m.Digest.String())
	h.Set("Etag", `"`+m.Digest.String()+`"`)
	h.Set("Content-Length", itoa(int64(len(m.Raw))))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(m.Raw)
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
	m, err := parseManifestPut(r.Header.Get("Content-Type"), raw)
	if err != nil {
		return err
	}
	var tags []string
	if isDigestRef(ref) {
		d := digest.Digest(ref)
		if got := d.Algorithm().FromBytes(raw); got != d {
			return fail(classDigestInvalid, "manifest hashes to "+got.String()+", not "+ref)
		}
		m.Digest = d
	} else {
		tags = append(tags, ref)
	}
	for _, t := range r.URL.Query()["tag"] {
		if !tagRE.MatchString(t) {
			return fail(classInvalid, "tag "+t+" does not match "+tagRE.String())
		}
		tags = append(tags, t)
	}
	// A repository that does not exist yet is created only for a manifest
	// that passed its checks: a refused push leaves no empty repository in
	// the catalog.
	repo, err := reg.openRepo(ctx, name)
	if errors.Is(err, errdef.ErrNotFound) {
		repo, err = nil, nil
	}
	if err != nil {
		return err
	}
	if repo != nil {
		if err := reg.keepManifest(ctx, repo, m); err != nil {
			return err
		}
	}
	if err := checkReferences(r, repo, m); err != nil {
		return err
	}
	if repo == nil {
		if repo, err = reg.createRepo(ctx, name); err != nil {
			return err
		}
	}
	desc := oci.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(raw))}
	if err := reg.root.Put(ctx, repo, desc, bytes.NewReader(raw)); err != nil {
		return err
	}
	if m.Subject != nil {
		if err := reg.root.AddReferrer(ctx, name, m.Subject.Digest, m.Digest); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := repo.Tag(ctx, desc, t); err != nil {
			return err
		}
	}
	if len(tags) == 0 {
		if err := repo.AddRoot(ctx, desc); err != nil {
			return err
		}
	}
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
func (reg *Registry) deleteManifest(w http.ResponseWriter, r *http.Request, name string, repo store.Repository, ref string) error {
	ctx := r.Context()
	unknown := "manifest " + ref + " unknown"
	if !isDigestRef(ref) {
		if err := repo.Untag(ctx, ref); err != nil {
			return notFound(err, unknown)
		}
	} else {
		d := digest.Digest(ref)
		m, _ := reg.readManifest(r, repo, ref)
		if err := repo.DeleteManifest(ctx, d); err != nil {
			return notFound(err, unknown)
		}
		if m != nil && m.Subject != nil {
			if err := reg.root.RemoveReferrer(ctx, name, m.Subject.Digest, d); err != nil {
				return err
			}
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
