package registry

import (
	"context"
	"io"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// GetManifest reads the manifest ref (a tag or a digest) names with one
// GET, bounded by oci.DefaultManifestLimit and verified: against ref when
// it is a digest, else against the registry's Docker-Content-Digest (the
// sha256 of the bytes when it sends none). A pull-through cache fetches a
// tag this way, where Resolve and Fetch would take two requests.
//
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func (r *Repository) GetManifest(ctx context.Context, ref string) (*oci.Manifest, error) {
	want, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	u, err := r.url(ctx, "manifests/"+ref)
	if err != nil {
		return nil, err
	}
	return r.getManifest(ctx, u, want, -1, false)
}

// FetchBlob streams blob d as the registry sends it, unverified, and
// returns the length it announced (-1 when it sent none), which the stream
// is held to. It is for a caller that hashes the bytes itself, elsewhere
// than in the reading goroutine (a pull-through cache hashes on one core
// while it spools on another), and must verify the digest before trusting
// or keeping anything; every other reader uses Fetch.
//
// distribution-spec v1.1.1 §Pulling blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func (r *Repository) FetchBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	if err := oci.ValidateDigest(d); err != nil {
		return nil, 0, err
	}
	u, err := r.url(ctx, "blobs/"+d.String())
	if err != nil {
		return nil, 0, err
	}
	resp, err := r.send(ctx, &request{method: http.MethodGet, url: u})
	if err != nil {
		return nil, 0, err
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}

// FileCredentials returns a credential source that reads one file: a docker
// config.json (credHelpers, credsStore, auths) or a containers auth.json
// (auths), looked up as DefaultCredentials looks up each of its files. A
// missing file, or one with nothing for the host, means anonymous.
func FileCredentials(path string) func(ctx context.Context, host string) (Credential, error) {
	return func(ctx context.Context, host string) (Credential, error) {
		c, _, err := fromDockerConfig(ctx, path, host)
		return c, err
	}
}

// HelperCredentials returns a credential source that asks the credential
// helper docker-credential-<helper> for every host.
func HelperCredentials(helper string) func(ctx context.Context, host string) (Credential, error) {
	return func(ctx context.Context, host string) (Credential, error) {
		return fromHelper(ctx, helper, host)
	}
}

// StaticCredentials returns a credential source that gives c for every host.
func StaticCredentials(c Credential) func(ctx context.Context, host string) (Credential, error) {
	return func(context.Context, string) (Credential, error) { return c, nil }
}
