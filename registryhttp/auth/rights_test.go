package auth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/registryhttp/internal/access"
)

// rightsFixture: alice may do anything in alice/**, bob in bob/**, and
// anonymous may pull public/**. The stub registry answers the catalog with
// the repositories of repos the caller may pull.
func rightsFixture(t *testing.T, anonymousRead bool) *fixture {
	t.Helper()
	users, err := ParseHtpasswd(strings.NewReader(htpasswdLine(t, "alice", "a-pass") + htpasswdLine(t, "bob", "b-pass")))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := ParseRules(strings.NewReader(`{"rules": [
		{"repository": "alice/**", "users": ["alice"], "actions": ["*"]},
		{"repository": "bob/**", "users": ["bob"], "actions": ["*"]},
		{"repository": "public/**", "users": ["anonymous"], "actions": ["pull"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Users: users, Rules: rules, AnonymousRead: anonymousRead, TokenKey: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	repos := []string{"alice/app", "bob/secret", "public/base"}
	stub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/_catalog" {
			_, _ = io.WriteString(w, "served")
			return
		}
		var out []string
		for _, n := range repos {
			if may := access.Pullable(r.Context()); may == nil || may(n) {
				out = append(out, n)
			}
		}
		_, _ = io.WriteString(w, strings.Join(out, ","))
	})
	ts := httptest.NewServer(a.Wrap(stub))
	t.Cleanup(ts.Close)
	return &fixture{t: t, url: ts.URL, a: a}
}

// A user logged in may always do at least what anonymous may: with
// --anonymous-read, alice pulls bob/secret as anonymous does (it was 403);
// without it, she pulls what the rules open to anonymous. The catalog lists
// only what the caller may pull.
func TestAuthenticatedHasAnonymousRights(t *testing.T) {
	for _, tc := range []struct {
		anonymousRead bool
		path, authz   string
		status        int
		body          string
	}{
		{true, "/v2/bob/secret/manifests/v1", "", 200, "served"},
		{true, "/v2/bob/secret/manifests/v1", basic("alice", "a-pass"), 200, "served"},
		{true, "/v2/_catalog", basic("alice", "a-pass"), 200, "alice/app,bob/secret,public/base"},
		{false, "/v2/bob/secret/manifests/v1", "", 401, ""},
		{false, "/v2/bob/secret/manifests/v1", basic("alice", "a-pass"), 403, ""},
		{false, "/v2/public/base/manifests/v1", "", 200, "served"},
		{false, "/v2/public/base/manifests/v1", basic("alice", "a-pass"), 200, "served"},
		{false, "/v2/_catalog", basic("alice", "a-pass"), 200, "alice/app,public/base"},
		{false, "/v2/_catalog", basic("bob", "b-pass"), 200, "bob/secret,public/base"},
	} {
		f := rightsFixture(t, tc.anonymousRead)
		r := f.do("GET", tc.path, tc.authz)
		if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
			t.Errorf("anonymous-read=%v %s as %q: %d %q, want %d %q", tc.anonymousRead, tc.path, tc.authz, r.status, r.body, tc.status, tc.body)
		}
	}
	t.Run("token", func(t *testing.T) {
		f := rightsFixture(t, false)
		tok := f.token("alice", "a-pass", "repository:public/base:pull", "registry:catalog:*")
		if r := f.do("GET", "/v2/public/base/manifests/v1", tok); r.status != 200 {
			t.Errorf("alice's token for public/base: %d %s", r.status, r.body)
		}
		if r := f.do("GET", "/v2/_catalog", tok); r.status != 200 || r.body != "alice/app,public/base" {
			t.Errorf("alice's catalog with a token: %d %q", r.status, r.body)
		}
	})
}
