package auth

import (
	"net/http"

	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// DenyDeletes wraps a registry handler so that DELETE of manifests and
// blobs, for everyone, is 405 UNSUPPORTED: for registries where content must
// never disappear through the API. Cancelling an upload (DELETE of an upload
// session) still works, since it removes nothing pushed.
//
// distribution-spec v1.1.1 §Content Management:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#content-management
func DenyDeletes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			if rt := parseRoute(r.URL.Path); rt.Kind == route.Manifest || rt.Kind == route.Blob {
				writeError(w, r, http.StatusMethodNotAllowed, codeUnsupported, "deletes are disabled on this registry")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
