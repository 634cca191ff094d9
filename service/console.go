package service

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
)

// consoleFiles are the console's built assets: service/console/web is the
// source (TypeScript, preact), `npm run build` there writes
// service/console/dist, which is committed so that `go build` needs no
// Node; scripts/test.sh checks the two agree.
//
//go:embed console/dist
var consoleFiles embed.FS

// ConsoleConfig is what the console needs to know about the server that the
// REST API does not say. It is served as /console.json.
type ConsoleConfig struct {
	// Auth is set when the server runs with --htpasswd: the console then
	// asks for a login, and /token on the REST port issues tokens.
	Auth bool `json:"auth"`
	// Registry is the host:port the registry port is reached by, for the
	// pull commands the console shows.
	Registry string `json:"registry"`
	// TLS is set when the registry port speaks TLS.
	TLS bool `json:"tls"`
	// DeleteDisabled is set under --disable-delete: no delete buttons.
	DeleteDisabled bool `json:"deleteDisabled"`
	// KeyDir is the server's key directory; the ids of the public keys in
	// it are the keys signatures are verified with.
	KeyDir string `json:"-"`
}

// consoleAsset is one embedded file, ready to serve.
type consoleAsset struct {
	body        []byte
	contentType string
	etag        string
}

// Console serves the web console: its page at /, its scripts and styles
// under /assets/, and /console.json. Everything else goes to the API.
type Console struct {
	cfg    ConsoleConfig
	assets map[string]consoleAsset // by URL path
	token  http.Handler
}

// consoleCSP is the Content-Security-Policy of every console response: the
// page runs only its own script and styles, talks only to its own origin,
// and cannot be framed. No inline script or style is allowed; the console
// sets element styles through the CSSOM only.
//
// CSP Level 3 §6.4.2 frame-ancestors: https://www.w3.org/TR/2024/WD-CSP3-20241014/#directive-frame-ancestors
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// NewConsole returns the console for cfg. token, when not nil, is the
// registry's token endpoint (auth.Authority.Wrap), mounted at /token so the
// console can log in and learn a user's rights on a repository the way
// registry clients do; its Basic challenge is dropped so that a wrong
// password shows in the console's form rather than the browser's dialog.
func NewConsole(cfg ConsoleConfig, token http.Handler) (*Console, error) {
	c := &Console{cfg: cfg, assets: map[string]consoleAsset{}, token: token}
	err := fs.WalkDir(consoleFiles, "console/dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := consoleFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		url := strings.TrimPrefix(p, "console/dist")
		c.assets[url] = consoleAsset{body: b, contentType: assetType(p), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := c.assets["/index.html"]; !ok {
		return nil, fs.ErrNotExist
	}
	return c, nil
}

// assetType names the type of an asset by its extension.
func assetType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

// Wrap returns a handler serving the console's paths itself and passing
// every other request (the API under /v1, /healthz, ...) to api. Wrap it in
// the REST port's HTTPGuard, which then covers the console too.
func (c *Console) Wrap(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/token" && c.token != nil:
			c.token.ServeHTTP(noChallenge{w}, r)
		case p == "/console.json":
			c.serveConfig(w, r)
		case p == "/" || p == "/index.html" || strings.HasPrefix(p, "/assets/"):
			c.serveAsset(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// setConsoleHeaders marks a console response: strict CSP, no sniffing, no
// framing, no referrer leaking repository names to other sites.
func setConsoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request) {
	setConsoleHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" {
		p = "/index.html"
	}
	a, ok := c.assets[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	// Asset names carry no hash: revalidate every time (a 304 is cheap)
	// so a new binary's console is never mixed with an old one's.
	h.Set("Cache-Control", "no-cache")
	if slices.Contains(strings.Split(r.Header.Get("If-None-Match"), ", "), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// consoleInfo is /console.json.
type consoleInfo struct {
	ConsoleConfig
	// TrustedKeys are the ids of the key directory's public keys.
	TrustedKeys []string `json:"trustedKeys"`
}

func (c *Console) serveConfig(w http.ResponseWriter, r *http.Request) {
	setConsoleHeaders(w.Header())
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(consoleInfo{ConsoleConfig: c.cfg, TrustedKeys: publicKeyIDs(c.cfg.KeyDir)})
}

// publicKeyIDs lists the ids of the public keys in the key directory (read
// each time: GenerateKeyPair adds keys while serving).
func publicKeyIDs(dir string) []string {
	ids := []string{}
	if dir == "" {
		return ids
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ids
	}
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".pub"); ok && e.Type().IsRegular() && checkKeyID(id) == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// noChallenge drops WWW-Authenticate from 401 answers: a Basic challenge
// makes browsers open their own login dialog over the console's.
type noChallenge struct{ http.ResponseWriter }

func (n noChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		n.Header().Del("WWW-Authenticate")
	}
	n.ResponseWriter.WriteHeader(code)
}
