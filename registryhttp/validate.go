package registryhttp

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// parseManifestPut checks a pushed manifest: valid JSON of a manifest media
// type stevedore serves, the document's mediaType (when present) equal to
// Content-Type, and well-formed descriptors. Every failure is
// MANIFEST_INVALID.
//
// "If a manifest includes a mediaType field, clients MUST set the
// Content-Type header to the value specified by the mediaType field", so a
// manifest with a mediaType and no Content-Type, or another one, is refused
// (as distribution does); without a mediaType, Content-Type alone names the
// type. The registry ignores Content-Type parameters, as the spec asks.
//
// distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
// image-spec v1.1.1 manifest.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md
func parseManifestPut(contentType string, raw []byte) (*oci.Manifest, error) {
	invalid := func(msg string) (*oci.Manifest, error) { return nil, fail(classInvalid, msg) }
	ct := ""
	if contentType != "" {
		var err error
		if ct, _, err = mime.ParseMediaType(contentType); err != nil {
			return invalid("Content-Type " + contentType + " is malformed")
		}
	}
	var doc struct {
		MediaType *string `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return invalid("manifest is not valid JSON: " + err.Error())
	}
	mt := ct
	if doc.MediaType != nil {
		switch {
		case *doc.MediaType == "":
			return invalid("manifest mediaType is empty")
		case ct == "":
			return invalid("no Content-Type: a manifest with a mediaType must be pushed with it as Content-Type (" + *doc.MediaType + ")")
		case ct != *doc.MediaType:
			return invalid("Content-Type " + ct + " does not match the manifest's mediaType " + *doc.MediaType)
		}
		mt = *doc.MediaType
	}
	if !oci.IsManifest(mt) {
		return invalid("media type " + mt + " is not a manifest media type this registry accepts")
	}
	m, err := oci.ParseManifest(mt, raw)
	if err != nil {
		return invalid(err.Error())
	}
	for _, d := range m.Children() {
		if d.MediaType == "" {
			return invalid("descriptor " + d.Digest.String() + " has no mediaType")
		}
	}
	if m.Subject != nil {
		if err := oci.ValidateDigest(m.Subject.Digest); err != nil {
			return invalid("subject: " + err.Error())
		}
	}
	return m, nil
}

// checkReferences requires what m references to be in repo (nil: a
// repository not created yet, which holds nothing), except its subject
// (which may be pushed later), layers marked non-distributable (which by
// definition are never pushed) and the manifests an index lists: a sparse
// index, holding only some of its platforms (copy --platforms --sparse), is
// accepted, as the spec lets a registry. Present content must have the size
// its descriptor says.
//
// distribution-spec v1.1.1 §Push ("A registry MAY reject a manifest ... with
// descriptors in other fields that reference a manifest or blob that does
// not exist"), §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#push
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func checkReferences(r *http.Request, repo store.Repository, m *oci.Manifest) error {
	for _, d := range m.Children() {
		if !m.IsIndex() && nonDistributable(d.MediaType) {
			continue
		}
		size, err := int64(0), error(errdef.ErrNotFound)
		if repo != nil {
			size, err = repo.Stat(r.Context(), d.Digest)
		}
		if errors.Is(err, errdef.ErrNotFound) {
			if m.IsIndex() {
				continue
			}
			return fail(classNotFound, "blob "+d.Digest.String()+" unknown to the repository")
		}
		if err != nil {
			return err
		}
		if size != d.Size {
			return fail(classInvalid, "descriptor "+d.Digest.String()+" has size "+itoa(d.Size)+", the blob has "+itoa(size))
		}
	}
	return nil
}

// nonDistributable reports the layer media types whose content registries do
// not hold (image-spec v1.1.1 layer.md, deprecated but still pushed).
func nonDistributable(mediaType string) bool {
	return strings.Contains(mediaType, ".nondistributable.") || mediaType == oci.MediaTypeDockerForeignLayer
}
