package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func htpasswdLine(t *testing.T, user, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + string(h) + "\n"
}

func TestParseHtpasswd(t *testing.T) {
	good := htpasswdLine(t, "alice", "a-pass")
	for _, c := range []struct {
		name, file string
		wantErr    error
	}{
		{"bcrypt", "# comment\n\n" + good, nil},
		{"md5", "bob:$apr1$abc$def\n", errdef.ErrUnsupported},
		{"sha1", "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", errdef.ErrUnsupported},
		{"plain", "bob:secret\n", errdef.ErrUnsupported},
		{"no colon", "bob\n", errdef.ErrInvalid},
		{"broken bcrypt", "bob:$2y$05$short\n", errdef.ErrInvalid},
		{"duplicate", good + good, errdef.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := ParseHtpasswd(strings.NewReader(c.file))
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if !u.Verify("alice", "a-pass") || !u.Verify("alice", "a-pass") {
				t.Error("right password refused")
			}
			if u.Verify("alice", "wrong") || u.Verify("nobody", "a-pass") {
				t.Error("wrong credentials accepted")
			}
		})
	}
}

func TestRules(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`
rules:
  - repository: "team/*"
    users: [bob]
    actions: [pull]
  - repository: "team/**"
    users: [carol]
    actions: ["*"]
  - repository: "**"
    users: ["*"]
    actions: [pull]
  - repository: "public/*"
    users: [anonymous]
    actions: [pull]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, repo string
		want       []string
	}{
		{"bob", "team/app", []string{"pull"}},
		{"bob", "team/a/b", []string{"pull"}}, // from "**" only
		{"carol", "team/a/b", allActions},
		{"carol", "team", allActions}, // "**" matches zero components too
		{"dave", "other", []string{"pull"}},
		{"", "public/x", []string{"pull"}},
		{"", "private/x", nil},
	} {
		t.Run(c.user+"@"+c.repo, func(t *testing.T) {
			got := rs.allowed(c.user, c.repo)
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("allowed %v, want %v", got, want)
			}
		})
	}
	for name, bad := range map[string]string{
		"unknown field":   "rules:\n  - repo: x\n    users: [a]\n    actions: [pull]\n",
		"unknown action":  "rules:\n  - repository: x\n    users: [a]\n    actions: [pul]\n",
		"anonymous push":  "rules:\n  - repository: x\n    users: [anonymous]\n    actions: [push]\n",
		"bad pattern":     "rules:\n  - repository: \"[x\"\n    users: [a]\n    actions: [pull]\n",
		"no users":        "rules:\n  - repository: x\n    actions: [pull]\n",
		"json, bad field": `{"rules": [{"repository": "x", "users": ["a"], "actions": ["pull"], "extra": 1}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRules(strings.NewReader(bad)); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("err %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		rs, err := ParseRules(strings.NewReader(`{"rules": [{"repository": "x/*", "users": ["a"], "actions": ["push"]}]}`))
		if err != nil || !slices.Equal(rs.allowed("a", "x/y"), []string{"push"}) {
			t.Errorf("%v %v", rs, err)
		}
	})
}

func TestParseScopes(t *testing.T) {
	got := ParseScopes([]string{
		"repository:a/b:pull,push",
		"repository:c:pull repository(plugin):d:*",
		"registry:catalog:*",
		"repository:127.0.0.1:5000/x:pull", // ':' in the name
		"garbage", "repository::pull", "repository:e:",
	})
	want := []Access{
		{"repository", "a/b", []string{"pull", "push"}},
		{"repository", "c", []string{"pull"}},
		{"repository", "d", []string{"*"}},
		{"registry", "catalog", []string{"*"}},
		{"repository", "127.0.0.1:5000/x", []string{"pull"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i].String() {
			t.Errorf("scope %d: %v, want %v", i, got[i], want[i])
		}
	}
	for _, c := range []struct{ want, allowed, out []string }{
		{[]string{"pull", "push"}, []string{"pull"}, []string{"pull"}},
		{[]string{"*"}, []string{"pull", "delete"}, []string{"pull", "delete"}},
		{[]string{"push"}, nil, nil},
	} {
		if got := intersect(c.want, c.allowed); !slices.Equal(got, c.out) {
			t.Errorf("intersect(%v, %v) = %v, want %v", c.want, c.allowed, got, c.out)
		}
	}
}

func TestToken(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Now()
	s := &signer{key: key, service: "stevedore", now: func() time.Time { return now }}
	access := []Access{{"repository", "a", []string{"pull"}}}
	tok, _, err := s.issue("alice", access)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || !c.Access[0].allows("repository", "a", "pull") || c.Access[0].allows("repository", "a", "push") {
		t.Errorf("claims %+v", c)
	}

	other := &signer{key: []byte(strings.Repeat("x", 32)), service: "stevedore", now: s.now}
	otherSvc := &signer{key: key, service: "elsewhere", now: s.now}
	later := &signer{key: key, service: "stevedore", now: func() time.Time { return now.Add(TokenTTL + time.Second) }}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: "alice", Audience: jwt.ClaimStrings{"stevedore"}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}, Access: access}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, c := range map[string]struct {
		s   *signer
		tok string
	}{
		"other key":     {other, tok},
		"other service": {otherSvc, tok},
		"expired":       {later, tok},
		"alg none":      {s, none},
		"garbage":       {s, "a.b.c"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.s.verify(c.tok); !errors.Is(err, errdef.ErrUnauthorized) {
				t.Errorf("err %v, want ErrUnauthorized", err)
			}
		})
	}
}

// fixture is a stub registry (200 "served" on every route) behind an
// Authority with alice (everything) and bob (pull only).
type fixture struct {
	t   *testing.T
	url string
	a   *Authority
}

func newFixture(t *testing.T, anonymousRead bool) *fixture {
	t.Helper()
	users, err := ParseHtpasswd(strings.NewReader(htpasswdLine(t, "alice", "a-pass") + htpasswdLine(t, "bob", "b-pass")))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := ParseRules(strings.NewReader(`{"rules": [
		{"repository": "**", "users": ["alice"], "actions": ["*"]},
		{"repository": "**", "users": ["bob"], "actions": ["pull"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Users: users, Rules: rules, AnonymousRead: anonymousRead, TokenKey: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	stub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "served "+r.URL.RawQuery)
	})
	ts := httptest.NewServer(DenyDeletes(a.Wrap(stub)))
	t.Cleanup(ts.Close)
	return &fixture{t: t, url: ts.URL, a: a}
}

type reply struct {
	status    int
	challenge string
	code      string
	body      string
}

func (f *fixture) do(method, path, authz string) reply {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.url+path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct{ Errors []struct{ Code string } }
	r := reply{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), body: string(b)}
	if json.Unmarshal(b, &env) == nil && len(env.Errors) > 0 {
		r.code = env.Errors[0].Code
	}
	return r
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// token fetches a token the way crane does: GET with Basic credentials.
func (f *fixture) token(user, pass string, scopes ...string) string {
	f.t.Helper()
	q := url.Values{"service": {"stevedore"}, "scope": scopes}
	authz := ""
	if user != "" {
		authz = basic(user, pass)
	}
	r := f.do(http.MethodGet, "/token?"+q.Encode(), authz)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET /token: %d %s", r.status, r.body)
	}
	var tr tokenResponse
	if err := json.Unmarshal([]byte(r.body), &tr); err != nil || tr.Token == "" || tr.Token != tr.AccessToken || tr.ExpiresIn != 300 {
		f.t.Fatalf("token response %s (%v)", r.body, err)
	}
	return "Bearer " + tr.Token
}

func TestHandler(t *testing.T) {
	f := newFixture(t, false)
	aliceTok := f.token("alice", "a-pass", "repository:a:pull,push", "repository:src:pull")
	bobTok := f.token("bob", "b-pass", "repository:a:pull,push")
	alicePullOnly := f.token("alice", "a-pass", "repository:a:pull")
	realm := `Bearer realm="` + f.url + `/token",service="stevedore"`
	for _, c := range []struct {
		name, method, path, authz string
		status                    int
		code, challenge           string
	}{
		{"ping anonymous", "GET", "/v2/", "", 401, "UNAUTHORIZED", realm},
		{"ping basic", "GET", "/v2/", basic("bob", "b-pass"), 200, "", ""},
		{"ping wrong password", "GET", "/v2/", basic("bob", "nope"), 401, "UNAUTHORIZED", realm},
		{"ping token", "GET", "/v2/", bobTok, 200, "", ""},
		{"forged token", "GET", "/v2/", "Bearer x.y.z", 401, "UNAUTHORIZED", realm + `,error="invalid_token"`},
		{"anonymous pull", "GET", "/v2/a/manifests/v1", "", 401, "UNAUTHORIZED", realm + `,scope="repository:a:pull"`},
		{"anonymous push", "PUT", "/v2/a/manifests/v1", "", 401, "UNAUTHORIZED", realm + `,scope="repository:a:pull,push"`},
		{"bob pull", "GET", "/v2/a/manifests/v1", bobTok, 200, "", ""},
		{"bob push token", "PUT", "/v2/a/manifests/v1", bobTok, 403, "DENIED", ""},
		{"bob push basic", "POST", "/v2/a/blobs/uploads/", basic("bob", "b-pass"), 403, "DENIED", ""},
		{"alice push", "PUT", "/v2/a/manifests/v1", aliceTok, 200, "", ""},
		{"alice upload", "PATCH", "/v2/a/blobs/uploads/123", aliceTok, 200, "", ""},
		{"alice narrow token", "PUT", "/v2/a/manifests/v1", alicePullOnly, 401, "UNAUTHORIZED", realm + `,scope="repository:a:pull,push",error="insufficient_scope"`},
		{"alice other repo", "GET", "/v2/b/tags/list", aliceTok, 401, "UNAUTHORIZED", realm + `,scope="repository:b:pull",error="insufficient_scope"`},
		{"delete disabled", "DELETE", "/v2/a/manifests/v1", aliceTok, 405, "UNSUPPORTED", ""},
		{"upload cancel", "DELETE", "/v2/a/blobs/uploads/123", aliceTok, 200, "", ""},
		{"catalog basic", "GET", "/v2/_catalog", basic("bob", "b-pass"), 200, "", ""},
		{"catalog token without scope", "GET", "/v2/_catalog", bobTok, 401, "UNAUTHORIZED", realm + `,scope="registry:catalog:*",error="insufficient_scope"`},
		// The repository checked is the one the registry serves, parsed
		// from the end: a token for "a" grants nothing below it.
		{"nested manifests name", "PUT", "/v2/a/manifests/x/manifests/v1", aliceTok, 401, "UNAUTHORIZED", realm + `,scope="repository:a/manifests/x:pull,push",error="insufficient_scope"`},
		{"nested blobs name", "GET", "/v2/a/blobs/b/blobs/sha256:00", aliceTok, 401, "UNAUTHORIZED", realm + `,scope="repository:a/blobs/b:pull",error="insufficient_scope"`},
		{"nested uploads name", "POST", "/v2/a/blobs/uploads/blobs/uploads/", aliceTok, 401, "UNAUTHORIZED", realm + `,scope="repository:a/blobs/uploads:pull,push",error="insufficient_scope"`},
		{"encoded slash", "GET", "/v2/a%2Fb/manifests/v1", aliceTok, 401, "UNAUTHORIZED", realm + `,scope="repository:a/b:pull",error="insufficient_scope"`},
		{"pull-only source", "POST", "/v2/src/blobs/uploads", aliceTok, 401, "UNAUTHORIZED", realm + `,scope="repository:src:pull,push",error="insufficient_scope"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, c.authz)
			if r.status != c.status || r.code != c.code || r.challenge != c.challenge {
				t.Errorf("got %d %s %q, want %d %s %q\n%s", r.status, r.code, r.challenge, c.status, c.code, c.challenge, r.body)
			}
		})
	}

	t.Run("mount needs pull on from", func(t *testing.T) {
		if r := f.do("POST", "/v2/a/blobs/uploads/?mount=sha256:x&from=src", aliceTok); !strings.Contains(r.body, "mount=") {
			t.Errorf("mount from a readable repository dropped: %s", r.body)
		}
		for _, q := range []string{"?mount=sha256:x&from=other", "?mount=sha256:x"} {
			if r := f.do("POST", "/v2/a/blobs/uploads/"+q, aliceTok); r.status != 200 || strings.Contains(r.body, "mount") {
				t.Errorf("%s: mount kept: %d %s", q, r.status, r.body)
			}
		}
	})
	t.Run("token grants the intersection", func(t *testing.T) {
		c, err := f.a.signer.verify(strings.TrimPrefix(bobTok, "Bearer "))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Access) != 1 || c.Access[0].String() != "repository:a:pull" {
			t.Errorf("bob's token grants %v", c.Access)
		}
	})
	t.Run("anonymous token refused", func(t *testing.T) {
		if r := f.do("GET", "/token?scope=repository:a:pull", ""); r.status != 401 {
			t.Errorf("anonymous token without --anonymous-read: %d", r.status)
		}
	})
	t.Run("oauth2 password grant", func(t *testing.T) {
		form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"a-pass"},
			"service": {"stevedore"}, "scope": {"repository:a:pull repository:b:push"}, "client_id": {"test"}}
		resp, err := http.PostForm(f.url+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr tokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, err)
		}
		if tr.Scope != "repository:a:pull repository:b:push" {
			t.Errorf("scope %q", tr.Scope)
		}
		if r := f.do("PUT", "/v2/b/manifests/v1", "Bearer "+tr.AccessToken); r.status != 200 {
			t.Errorf("push with the OAuth2 token: %d %s", r.status, r.body)
		}
		form.Set("password", "wrong")
		if resp, _ := http.PostForm(f.url+"/token", form); resp.StatusCode != 401 {
			t.Errorf("wrong password: %d", resp.StatusCode)
		}
		form.Set("grant_type", "refresh_token")
		if resp, _ := http.PostForm(f.url+"/token", form); resp.StatusCode != 400 {
			t.Errorf("refresh_token grant: %d", resp.StatusCode)
		}
	})
}

func TestAnonymousRead(t *testing.T) {
	f := newFixture(t, true)
	anon := f.token("", "", "repository:a:pull,push")
	for _, c := range []struct {
		name, method, path, authz string
		status                    int
	}{
		{"ping still challenges", "GET", "/v2/", "", 401},
		{"pull without token", "GET", "/v2/a/manifests/v1", "", 200},
		{"pull with anonymous token", "HEAD", "/v2/a/blobs/sha256:x", anon, 200},
		{"push without token", "POST", "/v2/a/blobs/uploads/", "", 401},
		{"push with anonymous token", "POST", "/v2/a/blobs/uploads/", anon, 401},
		{"catalog", "GET", "/v2/_catalog", "", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := f.do(c.method, c.path, c.authz); r.status != c.status {
				t.Errorf("%d, want %d: %s", r.status, c.status, r.body)
			}
		})
	}
	if _, err := f.a.AuthenticateRPC(t.Context(), anon); !errors.Is(err, errdef.ErrUnauthorized) {
		t.Errorf("anonymous token on the API: %v", err)
	}
}

func TestAuthenticateRPC(t *testing.T) {
	f := newFixture(t, false)
	toks, err := ParseAPITokens(strings.NewReader("# ci\n0123456789abcdef0123 ci-bot\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.a.cfg.APITokens = toks
	for _, c := range []struct {
		authz, user string
	}{
		{"", ""},
		{"Bearer 0123456789abcdef0123", "ci-bot"},
		{"Bearer 0123456789abcdef0124", ""},
		{f.token("bob", "b-pass"), "bob"},
		{basic("alice", "a-pass"), "alice"},
		{basic("alice", "bad"), ""},
	} {
		caller, err := f.a.AuthenticateRPC(t.Context(), c.authz)
		user := ""
		if caller != nil {
			user = caller.User()
		}
		if user != c.user || (c.user == "") != (err != nil) {
			t.Errorf("%q: %q, %v; want %q", c.authz, user, err, c.user)
		}
	}
	// A registry token is no general API credential: it allows what its
	// scopes grant, not everything its user may do.
	scoped, err := f.a.AuthenticateRPC(t.Context(), f.token("alice", "a-pass", "repository:a:pull"))
	if err != nil {
		t.Fatal(err)
	}
	alice, err := f.a.AuthenticateRPC(t.Context(), basic("alice", "a-pass"))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.a.AuthenticateRPC(t.Context(), "Bearer 0123456789abcdef0123")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		caller *Caller
		repo   string
		action engine.Action
		ok     bool
	}{
		{"scoped token, its scope", scoped, "a", engine.ActionPull, true},
		{"scoped token, more than its scope", scoped, "a", engine.ActionPush, false},
		{"scoped token, another repository", scoped, "b", engine.ActionPull, false},
		{"user by the rules", alice, "b", engine.ActionDelete, true},
		{"api token's user by the rules", bob, "b", engine.ActionPull, false}, // ci-bot has no rule
	} {
		if err := c.caller.Allowed(c.repo, c.action); (err == nil) != c.ok || (err != nil && !errors.Is(err, errdef.ErrDenied)) {
			t.Errorf("%s: %v, want allowed=%v", c.name, err, c.ok)
		}
	}
	if _, err := ParseAPITokens(strings.NewReader("short bob\n")); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("short token accepted: %v", err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	p := t.TempDir() + "/auth/token.key"
	k1, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil || string(k1) != string(k2) || len(k1) != 32 {
		t.Errorf("key not kept: %x vs %x (%v)", k1, k2, err)
	}
}
