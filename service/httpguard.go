package service

import (
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
)

// HTTPGuard is what a port a web browser can reach checks before anything
// else, so that a page the user opens elsewhere cannot use the API on the
// user's machine: not by a cross-site form or fetch (CSRF), and not by
// renaming an attacker's DNS name to 127.0.0.1 (DNS rebinding).
type HTTPGuard struct {
	// Listen is the address the port listens on (host:port).
	Listen string
	// Hosts are further Host header values accepted (--http-host,
	// --registry-host). IP literals and loopback names are always
	// accepted: only a DNS name can be rebound.
	Hosts []string
	// AnyHost skips the Host check: a port listening beyond loopback is
	// reached by names the server cannot know.
	AnyHost bool
	// Origins are the web origins (scheme://host[:port]) whose pages may
	// call the port cross-origin (CORS). None by default.
	Origins []string
	// Uploads are the path prefixes that take multipart/form-data bodies;
	// such requests must also carry the header UploadHeader, which a
	// cross-site form cannot set.
	Uploads []string
	// CSRF requires a state-changing request (POST, PUT, PATCH) to carry a
	// JSON body (Content-Type application/json), which a browser sends
	// cross-site only after a CORS preflight the guard refuses.
	CSRF bool
}

// UploadHeader must accompany multipart uploads to the REST API.
const UploadHeader = "X-Stevedore-Upload"

// Wrap returns h behind the guard.
func (g HTTPGuard) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.AnyHost && !g.hostAllowed(r.Host) {
			// 421: this server is not the one the name was meant for.
			http.Error(w, "host "+r.Host+" is not a name this server answers to (serve --http-host or --registry-host adds one)", http.StatusMisdirectedRequest)
			return
		}
		origin := r.Header.Get("Origin")
		crossSite := origin != "" && !sameOrigin(origin, r)
		if crossSite && !slices.Contains(g.Origins, origin) {
			http.Error(w, "cross-origin request from "+origin+" refused (serve --cors-origin allows an origin)", http.StatusForbidden)
			return
		}
		if crossSite {
			allowCORS(w, origin)
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if g.CSRF && !g.bodyAllowed(r) {
			http.Error(w, "a request that changes state must send Content-Type: application/json (multipart uploads: multipart/form-data and the "+UploadHeader+" header)", http.StatusUnsupportedMediaType)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hostAllowed checks the Host header.
func (g HTTPGuard) hostAllowed(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	switch {
	case host == "":
		// HTTP/1.0 has no Host; a browser, the rebinding attacker's tool,
		// always sends one.
		return true
	case net.ParseIP(host) != nil, strings.EqualFold(host, "localhost"):
		return true
	case strings.EqualFold(hostport, g.Listen):
		return true
	}
	for _, h := range g.Hosts {
		if strings.EqualFold(h, hostport) || strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// bodyAllowed applies the CSRF rule.
func (g HTTPGuard) bodyAllowed(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return true // GET and HEAD change nothing; DELETE is never a simple request
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	if mt == "application/json" {
		return true
	}
	if mt == "multipart/form-data" && r.Header.Get(UploadHeader) != "" {
		for _, p := range g.Uploads {
			if strings.HasPrefix(r.URL.Path, p) {
				return true
			}
		}
	}
	return false
}

// sameOrigin reports whether origin is the origin r was sent to.
func sameOrigin(origin string, r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

// allowCORS answers an allowed cross-origin request and its preflight.
func allowCORS(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, "+UploadHeader)
	h.Add("Vary", "Origin")
}
