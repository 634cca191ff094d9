package registry

import (
	"context"
	"net/http"
	"net/url"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

var _ transport.Mounter = (*Repository)(nil)

// Mount asks the registry to link desc's blob from repository from (on the
// same registry) into this one, which moves no bytes. The token asked for
// covers this repository only, so a registry with token auth may decline
// (a scope for from needs the authorizer to carry two). A registry that
// declines answers 202 with an ordinary upload session; that session is
// cancelled and false returned, so the caller uploads as usual.
//
// distribution-spec v1.1.1 §Mounting a blob from another repository:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository
func (r *Repository) Mount(ctx context.Context, desc oci.Descriptor, from string) (bool, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return false, err
	}
	if err := oci.ValidateRepository(from); err != nil {
		return false, err
	}
	u, err := r.url(ctx, "blobs/uploads/?mount="+url.QueryEscape(desc.Digest.String())+"&from="+url.QueryEscape(from))
	if err != nil {
		return false, err
	}
	resp, err := r.send(ctx, &request{method: http.MethodPost, url: u, push: true})
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		drain(resp)
		return true, nil
	case http.StatusAccepted:
		drain(resp)
		if loc := resp.Header.Get("Location"); loc != "" {
			if l, err := resp.Request.URL.Parse(loc); err == nil {
				if dr, err := r.send(ctx, &request{method: http.MethodDelete, url: l.String(), push: true}); err == nil {
					drain(dr)
				}
			}
		}
		return false, nil
	}
	_, err = expect(resp, http.StatusCreated)
	return false, err
}
