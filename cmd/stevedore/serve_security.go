package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/netguard"
	"github.com/stevedore-dev/stevedore/registryhttp/auth"
	"github.com/stevedore-dev/stevedore/service"
)

// securityFlags are the flags of `stevedore serve` for auth, TLS and the
// policies that limit what callers can do. All off by default.
type securityFlags struct {
	htpasswd, authRules, authRealm, tokenKey, apiTokens string
	anonymousRead, disableDelete                        bool
	tlsCert, tlsKey, tlsClientCA                        string
	allowRemote, allowLocal                             []string
	registryHosts, httpHosts, corsOrigins               []string
}

func (f *securityFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.htpasswd, "htpasswd", "", "turn auth on: users and bcrypt password hashes (htpasswd -B) guarding every port")
	fs.BoolVar(&f.anonymousRead, "anonymous-read", false, "with --htpasswd: let requests without credentials pull every repository, whatever --auth-rules say (to open only some, give them to users: [anonymous] in the rules)")
	fs.StringVar(&f.authRules, "auth-rules", "", "with --htpasswd: per-repository rules, YAML or JSON (default: every user may pull, push, delete)")
	fs.StringVar(&f.authRealm, "auth-realm", "", "with --htpasswd: token endpoint URL in challenges (default: http(s)://HOST/token of each request)")
	fs.StringVar(&f.tokenKey, "token-key", "", "with --htpasswd: file holding the token signing key, created if missing (default: DATA/auth/token.key)")
	fs.StringVar(&f.apiTokens, "api-tokens", "", "with --htpasswd: static bearer tokens for gRPC and REST, lines of TOKEN USER")
	fs.BoolVar(&f.disableDelete, "disable-delete", false, "refuse DELETE of manifests and blobs (405 UNSUPPORTED)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve TLS on all three ports with this PEM certificate (needs --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.tlsClientCA, "tls-client-ca", "", "with --tls-cert: require gRPC clients to present a certificate from these PEM CAs (mTLS)")
	fs.StringArrayVar(&f.allowRemote, "allow-remote", nil, "let API calls reach only registries whose host[:port] matches this glob, which may then be on loopback or private addresses (repeatable; default: any public address)")
	fs.StringArrayVar(&f.allowLocal, "allow-local", nil, "let API calls read and write oci:/archive paths under this directory (repeatable; default DATA/layouts; \"any\": anywhere but the data directory)")
	fs.StringArrayVar(&f.registryHosts, "registry-host", nil, "another host[:port] clients reach the registry port by (a proxy or DNS name): API refs naming it read the store directly, and the registry port accepts it as Host (repeatable)")
	fs.StringArrayVar(&f.httpHosts, "http-host", nil, "another host[:port] the REST port may be reached by (repeatable; the listen address and loopback names always work)")
	fs.StringArrayVar(&f.corsOrigins, "cors-origin", nil, "an origin (scheme://host[:port]) whose web pages may call the REST API (repeatable; default: none)")
}

// security is what the flags build, for serve to wire in.
type security struct {
	wrapRegistry func(http.Handler) http.Handler
	grpcOpts     []grpc.ServerOption
	gatewayDial  []grpc.DialOption
	tls          *service.TLS // nil: plaintext
	remote       *netguard.Policy
	local        *engine.LocalPolicy
	token        http.Handler // the token endpoint, for the console; nil without --htpasswd
}

// build checks the flags and loads the files they name.
func (f *securityFlags) build(dataDir string, log *zap.Logger) (*security, error) {
	s := &security{wrapRegistry: func(h http.Handler) http.Handler { return h }}
	if f.htpasswd == "" {
		for name, set := range map[string]bool{"--anonymous-read": f.anonymousRead, "--auth-rules": f.authRules != "",
			"--auth-realm": f.authRealm != "", "--token-key": f.tokenKey != "", "--api-tokens": f.apiTokens != ""} {
			if set {
				return nil, usageError{fmt.Errorf("%s needs --htpasswd", name)}
			}
		}
	} else {
		a, err := f.authority(dataDir, log)
		if err != nil {
			return nil, err
		}
		s.wrapRegistry = a.Wrap
		s.token = a.Wrap(http.NotFoundHandler())
		s.grpcOpts = append(s.grpcOpts, service.WithAuth(func(ctx context.Context, h string) (service.Caller, error) {
			c, err := a.AuthenticateRPC(ctx, h)
			if err != nil {
				return nil, err
			}
			return c, nil
		})...)
	}
	if f.disableDelete {
		// Outermost: a disabled DELETE is 405 for everyone, before any
		// credentials are asked for.
		withAuth := s.wrapRegistry
		s.wrapRegistry = func(h http.Handler) http.Handler { return auth.DenyDeletes(withAuth(h)) }
	}
	s.remote = &netguard.Policy{Allow: f.allowRemote}
	if err := s.remote.Check(); err != nil {
		return nil, usageError{fmt.Errorf("--allow-remote: %w", err)}
	}
	roots, any := f.allowLocal, false
	if i := slices.Index(roots, "any"); i >= 0 {
		roots, any = slices.Delete(slices.Clone(roots), i, i+1), true
		log.Warn("--allow-local any: API calls may read and write oci: and archive paths anywhere this process can (but the data directory)")
	}
	if len(roots) == 0 {
		roots = []string{filepath.Join(dataDir, "layouts")}
	}
	local, err := engine.NewLocalPolicy(roots, any, []string{dataDir})
	if err != nil {
		return nil, usageError{fmt.Errorf("--allow-local: %w", err)}
	}
	s.local = local
	switch {
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return nil, usageError{errors.New("--tls-cert and --tls-key go together")}
	case f.tlsCert == "" && f.tlsClientCA != "":
		return nil, usageError{errors.New("--tls-client-ca needs --tls-cert")}
	case f.tlsCert != "":
		t, err := service.NewTLS(f.tlsCert, f.tlsKey, f.tlsClientCA)
		if err != nil {
			return nil, err
		}
		s.tls = t
		s.grpcOpts = append(s.grpcOpts, grpc.Creds(credentials.NewTLS(t.GRPC)))
		s.gatewayDial = append(s.gatewayDial, t.GatewayDial)
	}
	return s, nil
}

// authority loads the auth files into an auth.Authority.
func (f *securityFlags) authority(dataDir string, log *zap.Logger) (*auth.Authority, error) {
	cfg := auth.Config{AnonymousRead: f.anonymousRead, Realm: f.authRealm, Log: log.Named("auth")}
	if f.anonymousRead {
		// Logged-in users keep every right anonymous has, so this opens
		// every repository to them as well.
		log.Warn("--anonymous-read: every repository can be pulled without credentials, and by every user, whatever --auth-rules restrict; grant anonymous pull in the rules to open only some")
	}
	var err error
	if cfg.Users, err = parseFile(f.htpasswd, auth.ParseHtpasswd); err != nil {
		return nil, fmt.Errorf("--htpasswd: %w", err)
	}
	if f.authRules != "" {
		if cfg.Rules, err = parseFile(f.authRules, auth.ParseRules); err != nil {
			return nil, fmt.Errorf("--auth-rules: %w", err)
		}
	}
	if f.apiTokens != "" {
		if cfg.APITokens, err = parseFile(f.apiTokens, auth.ParseAPITokens); err != nil {
			return nil, fmt.Errorf("--api-tokens: %w", err)
		}
	}
	keyFile := f.tokenKey
	if keyFile == "" {
		keyFile = filepath.Join(dataDir, "auth", "token.key")
	}
	if cfg.TokenKey, err = auth.LoadOrCreateKey(keyFile); err != nil {
		return nil, err
	}
	return auth.New(cfg)
}

// parseFile opens path and parses it with parse.
func parseFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return parse(f)
}
