package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

var _ transport.ManifestTagger = (*Repository)(nil)

// PushTagged uploads a manifest straight under tag: one PUT where Push and
// Tag take a PUT by digest, a GET and a PUT by tag. The registry answers
// with the digest it stored (Docker-Content-Digest), which must be ours:
// a registry that rewrote the manifest would leave the tag naming content
// we did not send.
//
// distribution-spec v1.1.1 §Pushing manifests (the reference may be a tag):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func (r *Repository) PushTagged(ctx context.Context, desc oci.Descriptor, rd io.Reader, tag string) error {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	if err := checkTag(tag); err != nil {
		return err
	}
	if !oci.IsManifest(desc.MediaType) {
		return fmt.Errorf("%s has media type %q, not a manifest's: only manifests are tagged: %w", desc.Digest, desc.MediaType, errdef.ErrInvalid)
	}
	raw, err := oci.ReadAllVerified(rd, desc.Digest, desc.Size, oci.DefaultManifestLimit)
	if err != nil {
		return err
	}
	return r.pushManifestAt(ctx, desc, raw, tag)
}

// Untag deletes tag without deleting the manifest it names, for the
// registries that allow it (CNCF distribution answers 405 or
// UNSUPPORTED, surfaced as errdef.ErrUnsupported; deleting by digest is
// then the only way, and removes every tag of the manifest).
//
// distribution-spec v1.1.1 §Deleting tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-tags
func (r *Repository) Untag(ctx context.Context, tag string) error {
	if err := checkTag(tag); err != nil {
		return err
	}
	u, err := r.url(ctx, "manifests/"+tag)
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

// checkTag validates a tag against the distribution-spec's grammar.
func checkTag(tag string) error { return oci.ValidateTag(tag) }

// checkStoredDigest compares the digest a registry says it stored for a
// manifest PUT with the one we computed. Registries that send none are
// trusted; one that sends another was given bytes it changed.
//
// distribution-spec v1.1.1 §Pushing manifests (Docker-Content-Digest):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func checkStoredDigest(resp *http.Response, want digest.Digest) error {
	got := resp.Header.Get("Docker-Content-Digest")
	if got == "" || got == want.String() {
		return nil
	}
	return fmt.Errorf("%s %s: registry stored the manifest as %s, not %s: %w",
		resp.Request.Method, redactURL(resp.Request.URL.String()), got, want, errdef.ErrDigestMismatch)
}
