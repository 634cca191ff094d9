package auth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// tokenPath is where the token endpoint lives, on the registry's own port.
const tokenPath = "/token"

// tokenResponse is the token endpoint's answer; "token" and "access_token"
// carry the same token since clients read one or the other.
//
// Docker token authentication, "Token Response Fields":
// https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md#token-response-fields
type tokenResponse struct {
	Token       string `json:"token,omitempty"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
	Scope       string `json:"scope,omitempty"`
}

// serveToken issues a token granting the requested scopes cut down to what
// the caller may do. GET takes Basic credentials (or none, for anonymous
// access when it is allowed); POST is the OAuth2 password grant. A caller
// asking for more than it may have still gets a token — with less in it —
// and the registry's 403 then tells it what was refused, which is how
// distribution behaves and what clients expect.
func (a *Authority) serveToken(w http.ResponseWriter, r *http.Request) {
	var (
		user, pass string
		hasCreds   bool
		scopes     []string
		service    string
		oauth      bool
	)
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		scopes, service = q["scope"], q.Get("service")
		user, pass, hasCreds = r.BasicAuth()
	case http.MethodPost:
		// OAuth2 token: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/oauth.md#getting-a-token
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
			return
		}
		if gt := r.PostForm.Get("grant_type"); gt != "password" {
			// No refresh tokens are issued, so none can be redeemed.
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only grant_type=password is supported")
			return
		}
		oauth = true
		user, pass, hasCreds = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		scopes, service = []string{r.PostForm.Get("scope")}, r.PostForm.Get("service")
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, r, http.StatusMethodNotAllowed, codeUnsupported, r.Method+" is not supported here")
		return
	}
	if service != "" && service != a.cfg.Service {
		writeError(w, r, http.StatusBadRequest, "INVALID_SERVICE", "this token endpoint serves "+strconv.Quote(a.cfg.Service))
		return
	}
	switch {
	case hasCreds && (user == "" || !a.cfg.Users.Verify(user, pass)):
		a.refuse(r, http.StatusUnauthorized, user, "token: wrong user name or password")
		w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(a.cfg.Service))
		writeError(w, r, http.StatusUnauthorized, codeUnauthorized, "wrong user name or password")
		return
	case !hasCreds && !a.anonymousAllowed():
		w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(a.cfg.Service))
		writeError(w, r, http.StatusUnauthorized, codeUnauthorized, "authentication required")
		return
	}
	granted := a.grant(user, ParseScopes(scopes))
	tok, at, err := a.signer.issue(user, granted)
	if err != nil {
		a.log.Error("issuing token", zap.Error(err))
		writeError(w, r, http.StatusInternalServerError, "UNKNOWN", "internal error")
		return
	}
	names := make([]string, len(granted))
	for i, g := range granted {
		names[i] = g.String()
	}
	a.log.Info("token issued", zap.String("user", user), zap.Strings("access", names))
	resp := tokenResponse{AccessToken: tok, ExpiresIn: int(TokenTTL / time.Second), IssuedAt: at.UTC().Format(time.RFC3339)}
	if oauth {
		resp.Scope = strings.Join(names, " ")
	} else {
		resp.Token = tok
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}

// oauthError answers an OAuth2 error (RFC 6749 §5.2).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
