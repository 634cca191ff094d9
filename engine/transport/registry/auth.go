package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// authorizer decides the Authorization header of requests to one registry:
// none until the registry challenges, then Basic or a bearer token obtained
// from the challenge's realm and cached per (host, scope) until it expires.
type authorizer struct {
	r *Repository

	mu        sync.Mutex
	challenge *challenge // the registry's last challenge; nil until a 401
	credDone  bool
	cred      Credential
	credErr   error
	tokens    map[string]token // by host + " " + scope

	fetchMu sync.Mutex // one token request at a time, so a burst of requests shares it
}

type token struct {
	value   string
	expires time.Time
}

func newAuthorizer(r *Repository) *authorizer {
	return &authorizer{r: r, tokens: map[string]token{}}
}

// scope returns the token scope for this repository.
//
// Token scope grammar: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/scope.md
func (r *Repository) scope(push bool) string {
	if push {
		return "repository:" + r.name + ":pull,push"
	}
	return "repository:" + r.name + ":pull"
}

// authorize sets req's Authorization header from what earlier challenges
// taught. Requests to other hosts (a paginated link or upload location
// pointing elsewhere) get none: our credentials are for this registry only.
func (a *authorizer) authorize(ctx context.Context, req *http.Request, scope string) error {
	if req.URL.Host != a.r.apiHost {
		return nil
	}
	a.mu.Lock()
	ch := a.challenge
	a.mu.Unlock()
	if ch == nil {
		return nil
	}
	switch ch.scheme {
	case "basic":
		cred, err := a.credential(ctx)
		if err != nil {
			return err
		}
		if cred.Username != "" || cred.Password != "" {
			req.SetBasicAuth(cred.Username, cred.Password)
		}
	case "bearer":
		tok, err := a.token(ctx, ch, scope, false)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// challenged learns from a 401 response and reports whether resending the
// request can succeed: a new token was obtained, or credentials exist that
// were not yet sent.
//
// Token authentication flow: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md#how-to-authenticate
func (a *authorizer) challenged(ctx context.Context, resp *http.Response, scope string) (bool, error) {
	if resp.Request.URL.Host != a.r.apiHost {
		return false, nil
	}
	var ch *challenge
	for _, c := range parseChallenges(resp.Header.Values("WWW-Authenticate")) {
		if c.scheme == "bearer" {
			ch = &c
			break
		}
		if c.scheme == "basic" && ch == nil {
			ch = &c
		}
	}
	if ch == nil {
		return false, nil
	}
	a.mu.Lock()
	prev := a.challenge
	a.challenge = ch
	a.mu.Unlock()
	switch ch.scheme {
	case "bearer":
		if _, err := a.token(ctx, ch, scope, true); err != nil {
			return false, err
		}
		return true, nil
	default: // basic
		cred, err := a.credential(ctx)
		if err != nil {
			return false, err
		}
		sent := prev != nil && prev.scheme == "basic"
		return !sent && (cred.Username != "" || cred.Password != ""), nil
	}
}

// credential loads the registry's credential once.
func (a *authorizer) credential(ctx context.Context) (Credential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.credDone {
		a.cred, a.credErr = a.r.opts.Credentials(ctx, a.r.host)
		if a.credErr != nil {
			a.credErr = fmt.Errorf("credentials for %s: %w", a.r.host, a.credErr)
		}
		a.credDone = true
	}
	return a.cred, a.credErr
}

// token returns a bearer token for scope: from the cache unless force, else
// from the challenge's realm. A pull,push token serves pulls too.
func (a *authorizer) token(ctx context.Context, ch *challenge, scope string, force bool) (string, error) {
	cred, err := a.credential(ctx)
	if err != nil {
		return "", err
	}
	if cred.RegistryToken != "" {
		return cred.RegistryToken, nil
	}
	key := a.r.apiHost + " " + scope
	pushKey := a.r.apiHost + " " + a.r.scope(true)
	lookup := func() (string, bool) {
		a.mu.Lock()
		defer a.mu.Unlock()
		now := time.Now()
		for _, k := range []string{key, pushKey} {
			if t, ok := a.tokens[k]; ok && now.Before(t.expires) {
				return t.value, true
			}
		}
		return "", false
	}
	if !force {
		if v, ok := lookup(); ok {
			return v, nil
		}
	}
	a.fetchMu.Lock()
	defer a.fetchMu.Unlock()
	if !force {
		if v, ok := lookup(); ok { // another request fetched it meanwhile
			return v, nil
		}
	}
	scopes := []string{scope}
	if force {
		// Answering a challenge: the registry may want more than we guessed
		// (another repository's pull for a mount, say).
		for _, s := range strings.Fields(ch.params["scope"]) {
			if !covers(scope, s) {
				scopes = append(scopes, s)
			}
		}
	}
	t, err := a.fetchToken(ctx, ch, cred, scopes)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.tokens[key] = t
	a.mu.Unlock()
	return t.value, nil
}

// maxTokenBody bounds a token response.
const maxTokenBody = 1 << 20

// fetchToken asks the challenge's realm for a token: the OAuth2 refresh-token
// POST when the credential holds an identity token, else a GET with Basic
// credentials (or none, for anonymous access).
//
// Token request: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md#requesting-a-token
// OAuth2 form:   https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/oauth.md
func (a *authorizer) fetchToken(ctx context.Context, ch *challenge, cred Credential, scopes []string) (token, error) {
	realm := ch.params["realm"]
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return token{}, fmt.Errorf("registry %s: bearer challenge has an unusable realm %q: %w", a.r.host, realm, errdef.ErrUnsupported)
	}
	service := ch.params["service"]
	q := &request{header: http.Header{}, safe: true}
	if cred.IdentityToken != "" {
		form := url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {cred.IdentityToken},
			"service":       {service},
			"client_id":     {a.r.opts.UserAgent},
			"scope":         {strings.Join(scopes, " ")},
		}
		q.method, q.url, q.body = http.MethodPost, u.String(), []byte(form.Encode())
		q.header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		params := u.Query()
		if service != "" {
			params.Set("service", service)
		}
		for _, s := range scopes {
			params.Add("scope", s)
		}
		if cred.Username != "" {
			params.Set("account", cred.Username)
		}
		u.RawQuery = params.Encode()
		q.method, q.url = http.MethodGet, u.String()
	}
	resp, err := a.r.retry(ctx, q, func(req *http.Request) error {
		if q.method == http.MethodGet && (cred.Username != "" || cred.Password != "") {
			req.SetBasicAuth(cred.Username, cred.Password)
		}
		return nil
	})
	what := "requesting a token from " + u.Host
	if len(scopes) > 0 {
		what += " for " + strings.Join(scopes, " ")
	}
	if err != nil {
		return token{}, fmt.Errorf("%s: %w", what, err)
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		if errors.Is(err, errdef.ErrUnauthorized) {
			err = fmt.Errorf("the credentials were refused: %w", err)
		}
		return token{}, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, err := oci.ReadAllLimited(resp.Body, maxTokenBody)
	if err != nil {
		return token{}, fmt.Errorf("reading token from %s: %w", u.Host, err)
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return token{}, fmt.Errorf("token from %s is not JSON: %v: %w", u.Host, err, errdef.ErrUnsupported)
	}
	t := token{value: body.Token}
	if t.value == "" {
		t.value = body.AccessToken
	}
	if t.value == "" {
		return token{}, fmt.Errorf("token response from %s has no token: %w", u.Host, errdef.ErrUnsupported)
	}
	// The token spec's default lifetime is 60 s; renew a little early so a
	// token does not expire in flight.
	life := time.Duration(body.ExpiresIn) * time.Second
	if life <= 0 {
		life = 60 * time.Second
	}
	t.expires = time.Now().Add(life - life/10)
	return t, nil
}

// covers reports whether scope "type:name:actions" grants everything other
// asks for.
func covers(scope, other string) bool {
	res, acts, ok := cutLast(scope, ":")
	ores, oacts, ook := cutLast(other, ":")
	if !ok || !ook || res != ores {
		return false
	}
	have := strings.Split(acts, ",")
	for _, a := range strings.Split(oacts, ",") {
		if !slices.Contains(have, a) {
			return false
		}
	}
	return true
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
