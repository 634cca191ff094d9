package auth

import (
	"net/http"

	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// parseRoute classifies a path with route.Parse, the parser the registry
// routes with, so the repository checked here is the one the handler then
// serves. A name that breaks the grammar is checked as written: the
// registry refuses it (NAME_INVALID) once the request gets that far.
func parseRoute(path string) route.Route {
	rt, _ := route.Parse(path)
	return rt
}

// action is what a request on a per-repository route needs: reads pull,
// writes push, DELETE of content delete. Everything on an upload session is
// push (cancelling one included): it only exists to push.
func action(rt route.Route, method string) string {
	switch {
	case rt.Kind == route.Upload:
		return ActionPush
	case method == http.MethodGet || method == http.MethodHead:
		return ActionPull
	case method == http.MethodDelete:
		return ActionDelete
	}
	return ActionPush
}
