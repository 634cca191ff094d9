package registryhttp

import (
	"errors"
	"net/http"
	"slices"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// getReferrers lists the manifests of the repository whose subject is the
// given digest, as an image index, optionally filtered by artifactType. An
// unknown repository or digest has no referrers: the spec forbids a 404.
//
// distribution-spec v1.1.1 §Listing referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
func (reg *Registry) getReferrers(w http.ResponseWriter, r *http.Request, name, ref string) error {
	ctx := r.Context()
	subject, err := parseDigest(ref)
	if err != nil {
		return err
	}
	filters := r.URL.Query()["artifactType"]
	list := []oci.Descriptor{}
	repo, err := reg.openRepo(ctx, name)
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return err
	}
	if repo != nil {
		ds, err := reg.root.Referrers(ctx, name, subject)
		if err != nil {
			return err
		}
		for _, d := range ds {
			m, err := reg.readManifest(r, repo, d.String())
			if err != nil {
				continue // deleted since, or unreadable: not a referrer to report
			}
			if m.Subject == nil || m.Subject.Digest != subject {
				continue
			}
			desc := oci.Descriptor{
				MediaType:    m.MediaType,
				Digest:       d,
				Size:         int64(len(m.Raw)),
				ArtifactType: m.ArtifactType,
				Annotations:  m.Annotations,
			}
			if desc.ArtifactType == "" && m.Config != nil {
				desc.ArtifactType = m.Config.MediaType
			}
			if len(filters) > 0 && !slices.Contains(filters, desc.ArtifactType) {
				continue
			}
			list = append(list, desc)
		}
	}
	if len(filters) > 0 {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, r, oci.MediaTypeImageIndex, struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     string           `json:"mediaType"`
		Manifests     []oci.Descriptor `json:"manifests"`
	}{2, oci.MediaTypeImageIndex, list})
}
