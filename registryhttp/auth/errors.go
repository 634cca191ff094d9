package auth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// OCI error codes this package answers with, each with its status.
// distribution-spec v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
const (
	codeUnauthorized = errdef.CodeUnauthorized // 401
	codeDenied       = errdef.CodeDenied       // 403
	codeUnsupported  = errdef.CodeUnsupported  // 405 for a disabled DELETE, as registryhttp's errorTable
)

// writeError sends the distribution-spec error envelope.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	body, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// challenge is the WWW-Authenticate value sending a client to the token
// endpoint: realm and service always, the scope the request needed when
// known, and an RFC 6750 §3.1 error when the credentials were the problem.
//
// Docker token authentication, "How to authenticate":
// https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md#how-to-authenticate
func (a *Authority) challenge(r *http.Request, scopes []Access, errCode string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm=` + strconv.Quote(a.realm(r)) + `,service=` + strconv.Quote(a.cfg.Service))
	if len(scopes) > 0 {
		s := make([]string, len(scopes))
		for i, sc := range scopes {
			s[i] = sc.String()
		}
		b.WriteString(`,scope=` + strconv.Quote(strings.Join(s, " ")))
	}
	if errCode != "" {
		b.WriteString(`,error=` + strconv.Quote(errCode))
	}
	return b.String()
}

// realm is the token endpoint's URL: the configured one, or the request's
// own host, so the challenge is right on whatever address the client used.
func (a *Authority) realm(r *http.Request) string {
	if a.cfg.Realm != "" {
		return a.cfg.Realm
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + tokenPath
}

// unauthorized answers 401 with a challenge.
func (a *Authority) unauthorized(w http.ResponseWriter, r *http.Request, scopes []Access, errCode, msg string) {
	w.Header().Set("WWW-Authenticate", a.challenge(r, scopes, errCode))
	writeError(w, r, http.StatusUnauthorized, codeUnauthorized, msg)
}
