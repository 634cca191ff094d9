package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// tokenServer issues bearer tokens like Docker Hub's auth service: a GET with
// optional Basic credentials, or the OAuth2 refresh-token POST.
type tokenServer struct {
	mu       sync.Mutex
	user     string // required Basic user ("" allows anonymous)
	pass     string
	refresh  string            // accepted refresh token
	issued   map[string]string // token -> scope
	requests []string          // the scope of every token request
	// accessToken answers with "access_token" instead of "token".
	accessToken bool
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var scope, service string
	switch r.Method {
	case http.MethodPost:
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != ts.refresh || ts.refresh == "" {
			http.Error(w, `{"details":"bad refresh token"}`, http.StatusUnauthorized)
			return
		}
		scope, service = r.PostForm.Get("scope"), r.PostForm.Get("service")
	default:
		u, p, ok := r.BasicAuth()
		if ts.user != "" && (!ok || u != ts.user || p != ts.pass) {
			http.Error(w, `{"details":"incorrect username or password"}`, http.StatusUnauthorized)
			return
		}
		scope, service = strings.Join(r.URL.Query()["scope"], " "), r.URL.Query().Get("service")
	}
	if service != "fake-service" {
		http.Error(w, "wrong service "+service, http.StatusBadRequest)
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests = append(ts.requests, scope)
	tok := fmt.Sprintf("tok%d", len(ts.requests))
	ts.issued[tok] = scope
	key := "token"
	if ts.accessToken {
		key = "access_token"
	}
	json.NewEncoder(w).Encode(map[string]any{key: tok, "expires_in": 300})
}

// bearerGuard returns a fakeRegistry auth hook that demands a token from ts
// whose scope covers the request's action.
func bearerGuard(ts *tokenServer, realm string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		action := "pull"
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			action = "push"
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		ts.mu.Lock()
		scope, ok := ts.issued[tok]
		ts.mu.Unlock()
		if ok && strings.Contains(scope, "repository:t/x:") && strings.Contains(scope, action) {
			return true
		}
		scopeWant := "repository:t/x:pull"
		if action == "push" {
			scopeWant = "repository:t/x:pull,push"
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="fake-service",scope=%q`, realm, scopeWant))
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	}
}

func TestBearerFlow(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		ts    *tokenServer
		cred  Credential
		wantE error
	}{
		{"anonymous", &tokenServer{}, Credential{}, nil},
		{"basic to realm", &tokenServer{user: "u", pass: "p"}, Credential{Username: "u", Password: "p"}, nil},
		{"access_token field", &tokenServer{accessToken: true}, Credential{}, nil},
		{"identity token", &tokenServer{refresh: "rt"}, Credential{IdentityToken: "rt"}, nil},
		{"wrong password", &tokenServer{user: "u", pass: "p"}, Credential{Username: "u", Password: "bad"}, errdef.ErrUnauthorized},
		{"missing password", &tokenServer{user: "u", pass: "p"}, Credential{}, errdef.ErrUnauthorized},
		{"wrong refresh token", &tokenServer{refresh: "rt"}, Credential{IdentityToken: "nope"}, errdef.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ts.issued = map[string]string{}
			auth := httptest.NewServer(tt.ts)
			defer auth.Close()
			f := newFakeRegistry()
			md, _, ld := seed(f)
			f.auth = bearerGuard(tt.ts, auth.URL+"/token")
			var credCalls int
			r := testRepo(t, f.start(t), Options{Credentials: func(_ context.Context, host string) (Credential, error) {
				credCalls++
				return tt.cred, nil
			}})

			_, err := r.Resolve(ctx, "v1")
			if !errors.Is(err, tt.wantE) || (tt.wantE == nil) != (err == nil) {
				t.Fatalf("Resolve err = %v, want %v", err, tt.wantE)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "token") {
					t.Errorf("error %q does not say a token request failed", err)
				}
				return
			}
			// More pulls reuse the cached token.
			if _, err := r.Fetch(ctx, ld); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Tags(ctx); err != nil {
				t.Fatal(err)
			}
			// A push needs a pull,push token, fetched once, up front for the PUT too.
			blob := []byte("pushed")
			if err := r.Push(ctx, oci.Descriptor{Digest: digestOf(blob), Size: int64(len(blob))}, strings.NewReader(string(blob))); err != nil {
				t.Fatal(err)
			}
			if err := r.Tag(ctx, md, "v2"); err != nil {
				t.Fatal(err)
			}
			want := []string{"repository:t/x:pull", "repository:t/x:pull,push"}
			if got := tt.ts.requests; strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("token requests %q, want %q", got, want)
			}
			if credCalls != 1 {
				t.Errorf("credentials looked up %d times, want 1", credCalls)
			}
		})
	}
}

func TestExpiredTokenRefetched(t *testing.T) {
	ctx := context.Background()
	ts := &tokenServer{issued: map[string]string{}}
	auth := httptest.NewServer(ts)
	defer auth.Close()
	f := newFakeRegistry()
	seed(f)
	f.auth = bearerGuard(ts, auth.URL+"/token")
	r := testRepo(t, f.start(t), Options{})
	if _, err := r.Resolve(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	// The registry forgets the token (revoked or expired server-side): the
	// client answers the new 401 with a fresh token, once.
	ts.mu.Lock()
	clear(ts.issued)
	ts.mu.Unlock()
	if _, err := r.Resolve(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if len(ts.requests) != 2 {
		t.Errorf("%d token requests, want 2", len(ts.requests))
	}
}

func TestBasicAuth(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		cred  Credential
		wantE error
	}{
		{"right", Credential{Username: "u", Password: "p"}, nil},
		{"wrong", Credential{Username: "u", Password: "bad"}, errdef.ErrUnauthorized},
		{"none", Credential{}, errdef.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry()
			seed(f)
			f.auth = func(w http.ResponseWriter, r *http.Request) bool {
				if u, p, ok := r.BasicAuth(); ok && u == "u" && p == "p" {
					return true
				}
				w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
				writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
				return false
			}
			r := testRepo(t, f.start(t), Options{Credentials: func(context.Context, string) (Credential, error) { return tt.cred, nil }})
			for range 2 { // the second call sends credentials up front
				_, err := r.Tags(ctx)
				if !errors.Is(err, tt.wantE) || (tt.wantE == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, tt.wantE)
				}
				if err != nil && !strings.Contains(err.Error(), "401 UNAUTHORIZED: authentication required") {
					t.Errorf("message %q", err)
				}
			}
		})
	}
}

func TestCredentialsError(t *testing.T) {
	f := newFakeRegistry()
	f.auth = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	boom := errors.New("keychain locked")
	r := testRepo(t, f.start(t), Options{Credentials: func(context.Context, string) (Credential, error) { return Credential{}, boom }})
	if _, err := r.Tags(context.Background()); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the credentials error", err)
	}
}

func TestRegistryToken(t *testing.T) {
	f := newFakeRegistry()
	seed(f)
	f.auth = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") == "Bearer static" {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://127.0.0.1:1/never-asked",service="s"`)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	r := testRepo(t, f.start(t), Options{Credentials: func(context.Context, string) (Credential, error) {
		return Credential{RegistryToken: "static"}, nil
	}})
	if _, err := r.Resolve(context.Background(), "v1"); err != nil {
		t.Fatal(err)
	}
}

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		in   []string
		want string // scheme{k=v,...} ...
	}{
		{[]string{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`},
			`bearer{realm=https://auth.docker.io/token,scope=repository:library/alpine:pull,service=registry.docker.io}`},
		{[]string{`Basic realm="Registry Realm"`}, `basic{realm=Registry Realm}`},
		{[]string{`basic realm=x, Bearer realm="a,b", error="insufficient_scope"`}, `basic{realm=x} bearer{error=insufficient_scope,realm=a,b}`},
		{[]string{`Basic`, `Bearer realm="q\"uote"`}, `basic{} bearer{realm=q"uote}`},
		{[]string{`Bearer realm="unterminated`}, `bearer{realm=unterminated}`},
		{[]string{``, `,,, =`, `="x"`}, ``},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, "|"), func(t *testing.T) {
			var parts []string
			for _, c := range parseChallenges(tt.in) {
				var kv []string
				for k, v := range c.params {
					kv = append(kv, k+"="+v)
				}
				slices.Sort(kv)
				parts = append(parts, c.scheme+"{"+strings.Join(kv, ",")+"}")
			}
			if got := strings.Join(parts, " "); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzParseChallenges(f *testing.F) {
	f.Add(`Bearer realm="https://a/token",service="s",scope="repository:x:pull"`)
	f.Add(`Basic realm=x, Bearer realm="a\"b"`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range parseChallenges([]string{s}) {
			if c.scheme == "" || c.params == nil {
				t.Fatalf("bad challenge %+v from %q", c, s)
			}
		}
	})
}
