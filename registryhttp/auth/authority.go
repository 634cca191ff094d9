package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// DefaultService is the "service" of challenges and the audience of tokens.
const DefaultService = "stevedore"

// Config configures an Authority. Users is required; the rest is optional.
type Config struct {
	// Users are the accounts that may log in.
	Users *Users
	// Rules restrict what each user may do; nil lets every authenticated
	// user pull, push and delete everywhere.
	Rules *Rules
	// AnonymousRead lets requests without credentials pull every repository.
	AnonymousRead bool
	// TokenKey signs tokens: at least 32 bytes (see LoadOrCreateKey).
	TokenKey []byte
	// Realm is the token endpoint's URL in challenges; empty means
	// http(s)://HOST/token built from each request, which is right on any
	// listen address unless a proxy rewrites the host.
	Realm string
	// Service is the service name; empty means DefaultService.
	Service string
	// APITokens are extra bearer tokens accepted on the API ports.
	APITokens *APITokens
	// Log receives one line per refused request and per issued token; nil
	// discards them.
	Log *zap.Logger
}

// Authority decides who a request comes from and what it may do.
type Authority struct {
	cfg    Config
	signer *signer
	log    *zap.Logger
}

// New returns an Authority for cfg.
func New(cfg Config) (*Authority, error) {
	if cfg.Users == nil {
		return nil, fmt.Errorf("auth: no users: %w", errdef.ErrInvalid)
	}
	if len(cfg.TokenKey) < minKeyLen {
		return nil, fmt.Errorf("auth: token key of %d bytes, want at least %d: %w", len(cfg.TokenKey), minKeyLen, errdef.ErrInvalid)
	}
	if cfg.Service == "" {
		cfg.Service = DefaultService
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &Authority{cfg: cfg, signer: &signer{key: cfg.TokenKey, service: cfg.Service, now: time.Now}, log: log}, nil
}

// principal is who a request comes from.
type principal struct {
	user  string  // "" for anonymous
	token *claims // the bearer token's claims; nil for Basic or no credentials
}

// anonymousAllowed reports whether requests without credentials get anything
// at all, and so whether /token issues anonymous tokens.
func (a *Authority) anonymousAllowed() bool {
	if a.cfg.AnonymousRead {
		return true
	}
	if a.cfg.Rules != nil {
		for _, r := range a.cfg.Rules.Rules {
			if r.matchesUser("") {
				return true
			}
		}
	}
	return false
}

// allowed returns the actions user ("" for anonymous) may take on the
// repository name, by the rules (or the default: everything for
// authenticated users) plus pull for anonymous with AnonymousRead. A user
// logged in may always do at least what anonymous may: credentials never
// take a right away.
func (a *Authority) allowed(user, name string) []string {
	var out []string
	switch {
	case a.cfg.Rules != nil:
		out = a.cfg.Rules.allowed(user, name)
	case user != "":
		out = allActions
	}
	// Anonymous is only ever granted pull (ParseRules refuses more).
	anonymousPulls := a.cfg.AnonymousRead || (a.cfg.Rules != nil && slices.Contains(a.cfg.Rules.allowed("", name), ActionPull))
	if anonymousPulls && !slices.Contains(out, ActionPull) {
		out = append(out, ActionPull)
	}
	return out
}

// mayPull reports whether user may pull the repository name, by the rules,
// whatever a token in hand grants: what the catalog shows the user.
func (a *Authority) mayPull(user, name string) bool {
	return slices.Contains(a.allowed(user, name), ActionPull)
}

// mayAccess reports whether user may take action on the resource, by the
// current rules: a token aside, what the user would be granted.
func (a *Authority) mayAccess(user, typ, name, action string) bool {
	switch typ {
	case "repository":
		return len(intersect([]string{action}, a.allowed(user, name))) > 0
	case "registry":
		// Any logged-in user may read the catalog, which lists the
		// repositories the user may pull; anonymous never.
		return name == "catalog" && user != ""
	}
	return false
}

// grant returns what a token for user should carry: each requested scope
// cut down to what the user may do. Scopes granting nothing are dropped.
func (a *Authority) grant(user string, want []Access) []Access {
	var out []Access
	for _, w := range want {
		var acts []string
		switch {
		case w.Type == "repository":
			acts = intersect(w.Actions, a.allowed(user, w.Name))
		case w.Type == "registry" && w.Name == "catalog" && a.mayAccess(user, w.Type, w.Name, "*"):
			acts = []string{"*"}
		}
		if len(acts) > 0 {
			out = append(out, Access{Type: w.Type, Name: w.Name, Actions: acts})
		}
	}
	return out
}

// can reports whether p may take action on the resource: by its token's
// claims when it has one, else by the rules.
func (a *Authority) can(p principal, typ, name, action string) bool {
	if p.token == nil {
		return a.mayAccess(p.user, typ, name, action)
	}
	for _, acc := range p.token.Access {
		if acc.allows(typ, name, action) {
			return true
		}
	}
	return false
}

// basicCredentials decodes an "Authorization: Basic" value.
func basicCredentials(v string) (user, pass string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

// authenticateHeader resolves an Authorization header value: empty is
// anonymous; Basic is checked against the users; Bearer is a registry token
// (tokens of anonymous callers included). Anything else is ErrUnauthorized.
func (a *Authority) authenticateHeader(h string) (principal, error) {
	if h == "" {
		return principal{}, nil
	}
	scheme, v, _ := strings.Cut(h, " ")
	v = strings.TrimSpace(v)
	switch strings.ToLower(scheme) {
	case "basic":
		user, pass, ok := basicCredentials(v)
		if !ok || user == "" || !a.cfg.Users.Verify(user, pass) {
			return principal{}, fmt.Errorf("wrong user name or password: %w", errdef.ErrUnauthorized)
		}
		return principal{user: user}, nil
	case "bearer":
		c, err := a.signer.verify(v)
		if err != nil {
			return principal{}, err
		}
		return principal{user: c.Subject, token: c}, nil
	}
	return principal{}, fmt.Errorf("unsupported authorization scheme %q: %w", scheme, errdef.ErrUnauthorized)
}

// AuthenticateRPC returns the caller an API request's authorization value
// names: "Bearer TOKEN" with a static API token or a registry token issued
// to a user, or "Basic" credentials. Missing or wrong credentials, and
// tokens issued to anonymous callers, are ErrUnauthorized: the API ports
// have no anonymous mode. The caller has the rights it would have on the
// registry port: a user's by the rules, a registry token's only what its
// scopes grant.
func (a *Authority) AuthenticateRPC(_ context.Context, authorization string) (*Caller, error) {
	if authorization == "" {
		return nil, fmt.Errorf("credentials required: %w", errdef.ErrUnauthorized)
	}
	if scheme, v, _ := strings.Cut(authorization, " "); strings.EqualFold(scheme, "bearer") {
		if user, ok := a.cfg.APITokens.lookup(strings.TrimSpace(v)); ok {
			return &Caller{a: a, p: principal{user: user}}, nil
		}
	}
	p, err := a.authenticateHeader(authorization)
	if err != nil {
		return nil, err
	}
	if p.user == "" {
		return nil, fmt.Errorf("anonymous token: %w", errdef.ErrUnauthorized)
	}
	return &Caller{a: a, p: p}, nil
}

// Caller is an authenticated API caller.
type Caller struct {
	a *Authority
	p principal
}

// User is the caller's user name.
func (c *Caller) User() string { return c.p.user }

// Allowed decides action on repository repo as the registry port would
// decide the same request from the same credentials (engine.Access).
func (c *Caller) Allowed(repo string, action engine.Action) error {
	if c.a.can(c.p, "repository", repo, string(action)) {
		return nil
	}
	if c.p.token != nil {
		return fmt.Errorf("the token of %s does not grant it: %w", c.p.user, errdef.ErrDenied)
	}
	return fmt.Errorf("%s may not: %w", c.p.user, errdef.ErrDenied)
}
