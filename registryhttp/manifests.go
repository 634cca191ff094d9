package registryhttp

import (
	"net/http"

	"github.com/opencontainers/go-digest"

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
		if r.Method == http.MethodPut {
			return errManifestInvalid.withMessage(err.Error())
		}
		return errManifestUnknown.withMessage(err.Error())
	}
	if r.Method == http.MethodPut {
		return reg.putManifest(w, r, name, ref)
	}
	repo, err := reg.repo(r, name)
	if err != nil {
		return err
	}
	defer repo.Close()
	if r.Method == http.MethodDelete {
		return reg.deleteManifest(w, r, name, repo, ref)
	}
	return reg.getManifest(w, r, repo, ref)
}

// readManifest reads the manifest ref names (served.ReadManifest); anything
// that is not a readable manifest is MANIFEST_UNKNOWN.
func readManifest(r *http.Request, repo served.Repository, ref string) (*oci.Manifest, error) {
	m, err := served.ReadManifest(r.Context(), repo, ref)
	if err != nil {
		return nil, classify(err, errManifestUnknown.withMessage("manifest "+ref+" unknown"), errManifestUnknown)
	}
	return m, nil
}

// getManifest serves a manifest by tag or digest, as its raw stored bytes.
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func (reg *Registry) getManifest(w http.ResponseWriter, r *http.Request, repo served.Repository, ref string) error {
	m, err := readManifest(r, repo, ref)
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
	if r.ContentLength > oci.DefaultManifestLimit {
		return errTooLarge
	}
	raw, err := oci.ReadAllLimited(r.Body, oci.DefaultManifestLimit)
	if err != nil {
		return classify(err, nil, errManifestInvalid)
	}
	put := served.ManifestPut{MediaType: r.Header.Get("Content-Type")}
	if isDigestRef(ref) {
		put.Digest = digest.Digest(ref)
	} else {
		put.Tags = append(put.Tags, ref)
	}
	for _, t := range r.URL.Query()["tag"] {
		if err := served.ValidateTag(t); err != nil {
			return errManifestInvalid.withMessage(err.Error())
		}
		put.Tags = append(put.Tags, t)
	}
	m, err := served.PutManifest(ctx, reg.root, name, raw, put)
	if err != nil {
		return classify(err, nil, errManifestInvalid)
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
	unknown := errManifestUnknown.withMessage("manifest " + ref + " unknown")
	if !isDigestRef(ref) {
		if err := repo.Untag(ctx, ref); err != nil {
			return classify(err, unknown, errManifestUnknown)
		}
	} else {
		if err := served.DeleteManifest(ctx, reg.root, name, repo, digest.Digest(ref)); err != nil {
			return classify(err, unknown, errManifestUnknown)
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
