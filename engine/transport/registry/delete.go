package registry

import (
	"context"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// DeleteManifest deletes the manifest d from the repository, and with it
// every tag that names it. Registries that disable deletes answer 405 or
// UNSUPPORTED, which match errdef.ErrUnsupported; one that does not hold d
// answers MANIFEST_UNKNOWN, errdef.ErrNotFound.
//
// distribution-spec v1.1.1 §Deleting manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-manifests
func (r *Repository) DeleteManifest(ctx context.Context, d digest.Digest) error {
	if err := oci.ValidateDigest(d); err != nil {
		return err
	}
	u, err := r.url(ctx, "manifests/"+d.String())
	if err != nil {
		return err
	}
	resp, err := r.send(ctx, &request{method: http.MethodDelete, url: u, push: true})
	if err != nil {
		return err
	}
	if resp, err = expect(resp, http.StatusAccepted, http.StatusOK, http.StatusNoContent); err != nil {
		return err
	}
	drain(resp)
	return nil
}
