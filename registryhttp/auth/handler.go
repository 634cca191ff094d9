package auth

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/stevedore-dev/stevedore/registryhttp/internal/access"
	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// Wrap returns next guarded by a: /token is the token endpoint, and every
// distribution request must carry credentials (or be an anonymous pull the
// configuration allows) that grant what its route needs.
func (a *Authority) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == tokenPath {
			a.serveToken(w, r)
			return
		}
		if r, ok := a.authorize(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// authorize decides a distribution request. It answers the refusals itself:
//   - 401 with a challenge when credentials are missing or invalid, or when
//     a token lacks an action the user would be granted (insufficient_scope,
//     so the client fetches a wider token);
//   - 403 DENIED when an authenticated user may not take the action at all.
//
// On success it returns the request to serve, possibly without its mount
// parameters (see below).
//
// Docker token authentication: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md#how-to-authenticate
func (a *Authority) authorize(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	rt := parseRoute(r.URL.Path)
	p, err := a.authenticateHeader(r.Header.Get("Authorization"))
	if err != nil {
		errCode := ""
		if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "bearer") {
			errCode = "invalid_token" // RFC 6750 §3.1: expired, forged or malformed
		}
		a.refuse(r, http.StatusUnauthorized, "", err.Error())
		a.unauthorized(w, r, nil, errCode, err.Error())
		return nil, false
	}
	anonymous := p.user == "" && p.token == nil
	type need struct{ typ, name, action string }
	var needs []need
	switch rt.Kind {
	case route.Base, route.Other:
		// /v2/ answers 401 to anonymous callers even when they may pull:
		// clients decide from this ping whether to log in at all.
		if anonymous {
			a.unauthorized(w, r, nil, "", "authentication required")
			return nil, false
		}
		return r, true
	case route.Catalog:
		needs = append(needs, need{"registry", "catalog", "*"})
	default:
		needs = append(needs, need{"repository", rt.Name, action(rt, r.Method)})
	}
	for _, n := range needs {
		if a.can(p, n.typ, n.name, n.action) {
			continue
		}
		scope := Access{Type: n.typ, Name: n.name, Actions: []string{n.action}}
		if n.action == ActionPush {
			// Pushing clients read too (HEAD before upload); asking for
			// both saves them a second round trip.
			scope.Actions = []string{ActionPull, ActionPush}
		}
		switch {
		case p.user == "":
			a.refuse(r, http.StatusUnauthorized, "", "anonymous "+scope.String())
			errCode := ""
			if p.token != nil {
				errCode = "insufficient_scope"
			}
			a.unauthorized(w, r, []Access{scope}, errCode, "authentication required")
		case p.token != nil && a.mayAccess(p.user, n.typ, n.name, n.action):
			a.refuse(r, http.StatusUnauthorized, p.user, "token lacks "+scope.String())
			a.unauthorized(w, r, []Access{scope}, "insufficient_scope", "token does not grant "+scope.String())
		default:
			a.refuse(r, http.StatusForbidden, p.user, scope.String())
			writeError(w, r, http.StatusForbidden, codeDenied, "user "+p.user+" may not "+n.action+" "+n.name)
		}
		return nil, false
	}
	switch {
	case rt.Kind == route.Upload && r.Method == http.MethodPost:
		r = a.guardMount(r, p)
	case rt.Kind == route.Catalog:
		user := p.user
		r = r.WithContext(access.WithPullable(r.Context(), func(name string) bool { return a.mayPull(user, name) }))
	}
	return r, true
}

// guardMount drops the mount parameters of an upload unless the caller may
// pull the source repository: a mount must not read a blob out of a
// repository the caller cannot see, and a mount without "from" (from any
// repository) never can be checked. The registry then starts an ordinary
// upload session (202), which the spec lets it do for any mount.
//
// distribution-spec v1.1.1 §Mounting a blob from another repository:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository
func (a *Authority) guardMount(r *http.Request, p principal) *http.Request {
	q := r.URL.Query()
	if q.Get("mount") == "" {
		return r
	}
	if from := q.Get("from"); from != "" && a.can(p, "repository", from, ActionPull) {
		return r
	}
	q.Del("mount")
	q.Del("from")
	r = r.Clone(r.Context())
	r.URL.RawQuery = q.Encode()
	return r
}

// refuse logs a refused request; the registry's own log never sees it.
func (a *Authority) refuse(r *http.Request, status int, user, why string) {
	a.log.Info("registry request refused",
		zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.Int("status", status), zap.String("user", user), zap.String("reason", why))
}
