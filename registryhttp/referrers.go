package registryhttp

import (
	"errors"
	"net/http"
	"slices"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
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
		all, err := served.ListReferrers(ctx, reg.root, name, repo, subject)
		if err != nil {
			return err
		}
		for _, d := range all {
			if len(filters) == 0 || slices.Contains(filters, d.ArtifactType) {
				list = append(list, d)
			}
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
