package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

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
	fs.StringArrayVar(&f.allowRemote, "allow-remote", nil, "only let API calls reach registries whose host[:port] matches this glob (repeatable)")
	fs.StringArrayVar(&f.allowLocal, "allow-local", nil, "only let API calls read or write oci:/archive paths under this directory (repeatable; symlinks resolved)")
}

// security is what the flags build, for serve to wire in.
type security struct {
	wrapRegistry func(http.Handler) http.Handler
	grpcOpts     []grpc.ServerOption
	gatewayDial  []grpc.DialOption
	tls          *service.TLS // nil: plaintext
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
		s.grpcOpts = append(s.grpcOpts, service.WithAuth(a.AuthenticateRPC)...)
	}
	if f.disableDelete {
		// Outermost: a disabled DELETE is 405 for everyone, before any
		// credentials are asked for.
		withAuth := s.wrapRegistry
		s.wrapRegistry = func(h http.Handler) http.Handler { return auth.DenyDeletes(withAuth(h)) }
	}
	if len(f.allowRemote) > 0 || len(f.allowLocal) > 0 {
		l, err := service.NewAllowlist(f.allowRemote, f.allowLocal)
		if err != nil {
			return nil, usageError{fmt.Errorf("--allow-remote/--allow-local: %w", err)}
		}
		s.grpcOpts = append(s.grpcOpts, l.ServerOptions()...)
	}
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
