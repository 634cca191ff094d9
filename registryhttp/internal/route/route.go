// Package route parses distribution-spec request paths. The registry routes
// with it and the auth layer checks permissions with it, so the repository a
// permission is checked against is always the one the handler then serves.
package route

import (
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Kind is the endpoint a path names.
type Kind int

// The endpoints of distribution-spec v1.1.1 §Endpoints.
const (
	Other     Kind = iota // not an API endpoint: the registry answers 404
	Base                  // /v2/
	Catalog               // /v2/_catalog
	Manifest              // /v2/NAME/manifests/REF
	Blob                  // /v2/NAME/blobs/DIGEST
	Upload                // /v2/NAME/blobs/uploads/[ID]
	Tags                  // /v2/NAME/tags/list
	Referrers             // /v2/NAME/referrers/DIGEST
)

// Route is a parsed request path.
type Route struct {
	Kind Kind
	// Name is the repository, for the per-repository kinds: as written in
	// the path, valid or not (Parse's error says which).
	Name string
	// Ref is the last component: the tag or digest of a manifest, the
	// digest of a blob or referrers subject, the session ID of an upload
	// ("" when starting one). It is not validated.
	Ref string
}

// Parse classifies a request path (r.URL.Path, already unescaped, so an
// encoded "%2F" is a '/' here as it is to every handler). It reads the path
// from its end, because repository names may hold any number of
// components, including ones named "blobs", "manifests" or "uploads".
//
// For a per-repository kind whose name breaks the spec's grammar (an empty
// component, "..", upper case) it returns the route with an error matching
// errdef.ErrInvalid; the registry answers NAME_INVALID.
//
// distribution-spec v1.1.1 §Endpoints:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func Parse(path string) (Route, error) {
	if path == "/v2/" || path == "/v2" {
		return Route{Kind: Base}, nil
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return Route{}, nil
	}
	if rest == "_catalog" {
		return Route{Kind: Catalog}, nil
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	at := func(i int) string { // the i-th component from the end, 1-based
		if n-i < 0 {
			return ""
		}
		return segs[n-i]
	}
	rt := func(k Kind, nameEnd int, ref string) (Route, error) {
		r := Route{Kind: k, Name: strings.Join(segs[:max(n-nameEnd, 0)], "/"), Ref: ref}
		if err := oci.ValidateRepository(r.Name); err != nil {
			return r, fmt.Errorf("%v: %w", err, errdef.ErrInvalid)
		}
		return r, nil
	}
	switch {
	case n >= 4 && at(3) == "blobs" && at(2) == "uploads":
		return rt(Upload, 3, at(1))
	case n >= 3 && at(2) == "tags" && at(1) == "list":
		return rt(Tags, 2, "")
	case n >= 3 && at(2) == "manifests":
		return rt(Manifest, 2, at(1))
	case n >= 3 && at(2) == "blobs":
		if at(1) == "uploads" {
			// POST /v2/NAME/blobs/uploads, without the trailing slash.
			return rt(Upload, 2, "")
		}
		return rt(Blob, 2, at(1))
	case n >= 3 && at(2) == "referrers":
		return rt(Referrers, 2, at(1))
	}
	return Route{}, nil
}
