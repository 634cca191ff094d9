package auth

import (
	"net/http"
	"strings"
)

// routeKind is the distribution endpoint a path names.
type routeKind int

const (
	routeOther     routeKind = iota // not an API endpoint: the registry 404s it
	routeBase                       // /v2/
	routeCatalog                    // /v2/_catalog
	routeManifest                   // /v2/NAME/manifests/REF
	routeBlob                       // /v2/NAME/blobs/DIGEST
	routeUpload                     // /v2/NAME/blobs/uploads/[ID]
	routeTags                       // /v2/NAME/tags/list
	routeReferrers                  // /v2/NAME/referrers/DIGEST
)

// route is a parsed request path.
type route struct {
	kind routeKind
	name string // the repository, for the per-repository kinds
}

// parseRoute classifies a path exactly as registryhttp's router does — from
// the end, since repository names may hold components named "blobs" or
// "manifests" — so the repository checked here is the one the handler then
// serves. It does not validate the name: the registry refuses a bad one.
//
// distribution-spec v1.1.1 §Endpoints:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func parseRoute(path string) route {
	if path == "/v2/" || path == "/v2" {
		return route{kind: routeBase}
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return route{}
	}
	if rest == "_catalog" {
		return route{kind: routeCatalog}
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	name := func(k int) string { return strings.Join(segs[:max(n-k, 0)], "/") }
	switch {
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		return route{routeUpload, name(3)}
	case n >= 3 && segs[n-2] == "tags" && segs[n-1] == "list":
		return route{routeTags, name(2)}
	case n >= 3 && segs[n-2] == "manifests":
		return route{routeManifest, name(2)}
	case n >= 3 && segs[n-2] == "blobs":
		if segs[n-1] == "uploads" {
			return route{routeUpload, name(2)}
		}
		return route{routeBlob, name(2)}
	case n >= 3 && segs[n-2] == "referrers":
		return route{routeReferrers, name(2)}
	}
	return route{}
}

// action is what a request on a per-repository route needs: reads pull,
// writes push, DELETE of content delete. Everything on an upload session is
// push (cancelling one included): it only exists to push.
func (rt route) action(method string) string {
	switch {
	case rt.kind == routeUpload:
		return ActionPush
	case method == http.MethodGet || method == http.MethodHead:
		return ActionPull
	case method == http.MethodDelete:
		return ActionDelete
	}
	return ActionPush
}
