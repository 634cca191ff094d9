package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine/cache"
	"github.com/stevedore-dev/stevedore/engine/netguard"
	"github.com/stevedore-dev/stevedore/engine/served"
	regclient "github.com/stevedore-dev/stevedore/engine/transport/registry"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// upstreamsFlags hold the pull-through cache's configuration: the
// `upstreams:` section of the serve config file (--config).
type upstreamsFlags struct {
	upstreams []cache.Upstream
}

// upstreamConfig is one entry of `upstreams:`.
//
//	upstreams:
//	  - prefix: docker.io            # served as REGISTRY/docker.io/REPO
//	    urls: ["https://registry-1.docker.io"]
//	    tagTTL: 10m                  # optional, default 5m
//	    insecure: false              # optional: skip TLS verification
//	    credentials: {username: u, passwordFile: /run/secrets/hub}   # optional
//	    tls: {ca: ca.pem, cert: client.pem, key: client.key}         # optional
type upstreamConfig struct {
	Prefix      string             `yaml:"prefix"`
	URLs        []string           `yaml:"urls"`
	TagTTL      string             `yaml:"tagTTL"`
	Insecure    bool               `yaml:"insecure"`
	Credentials *credentialsConfig `yaml:"credentials"`
	TLS         *tlsConfig         `yaml:"tls"`
}

// credentialsConfig says where an upstream's credential comes from; without
// it, the CLI's sources (docker config.json, containers auth.json,
// credential helpers) are asked for the URL's host.
type credentialsConfig struct {
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"passwordFile"`
	PasswordEnv  string `yaml:"passwordEnv"`
	Helper       string `yaml:"helper"` // docker-credential-<helper>
	File         string `yaml:"file"`   // a docker config.json or containers auth.json
}

// tlsConfig is an upstream's TLS settings: a CA bundle to trust (beside the
// system's roots) and a client certificate.
type tlsConfig struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// The keys each mapping may hold; anything else is an error naming its line.
var (
	upstreamKeys    = []string{"prefix", "urls", "tagTTL", "insecure", "credentials", "tls"}
	credentialsKeys = []string{"username", "password", "passwordFile", "passwordEnv", "helper", "file"}
	tlsKeys         = []string{"ca", "cert", "key"}
)

// decodeUpstreams decodes the `upstreams:` section of the serve config (a
// sequence node) into o. Relative paths in it are relative to the current
// directory.
func decodeUpstreams(o *serveOptions, n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: upstreams: want a list of upstreams", n.Line)
	}
	var ups []cache.Upstream
	for i, item := range n.Content {
		where := fmt.Sprintf("upstreams[%d]", i)
		if err := checkKeys(item, where, upstreamKeys); err != nil {
			return err
		}
		for _, sub := range []struct {
			key  string
			keys []string
		}{{"credentials", credentialsKeys}, {"tls", tlsKeys}} {
			if v := mapValue(item, sub.key); v != nil {
				if err := checkKeys(v, where+"."+sub.key, sub.keys); err != nil {
					return err
				}
			}
		}
		var c upstreamConfig
		if err := item.Decode(&c); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		u, err := c.upstream()
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", item.Line, where, err)
		}
		ups = append(ups, u)
	}
	o.upstreams.upstreams = ups
	return nil
}

// mapValue returns the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// checkKeys requires n to be a mapping whose keys are all in allowed.
func checkKeys(n *yaml.Node, where string, allowed []string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s: want a mapping", n.Line, where)
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("line %d: %s: unknown key %q (known: %s)", k.Line, where, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// upstream turns the entry into the cache's configuration, reading the
// files it names.
func (c upstreamConfig) upstream() (cache.Upstream, error) {
	u := cache.Upstream{Prefix: c.Prefix, URLs: c.URLs, Insecure: c.Insecure}
	if c.Prefix == "" {
		return u, errors.New("prefix is required")
	}
	if len(c.URLs) == 0 {
		return u, errors.New("urls is required (one URL or more, tried in order)")
	}
	if c.TagTTL != "" {
		d, err := time.ParseDuration(c.TagTTL)
		if err != nil || d <= 0 {
			return u, fmt.Errorf("tagTTL %q: want a positive duration such as 10m", c.TagTTL)
		}
		u.TagTTL = d
	}
	if c.Credentials != nil {
		creds, err := c.Credentials.source()
		if err != nil {
			return u, fmt.Errorf("credentials: %w", err)
		}
		u.Credentials = creds
	}
	if c.TLS != nil {
		t, err := c.TLS.config()
		if err != nil {
			return u, fmt.Errorf("tls: %w", err)
		}
		u.TLS = t
	}
	return u, nil
}

// source returns the credential source the entry names: exactly one of an
// inline username (with password, passwordFile or passwordEnv), a helper, or
// a file.
func (c credentialsConfig) source() (func(ctx context.Context, host string) (regclient.Credential, error), error) {
	kinds := 0
	for _, set := range []bool{c.Username != "", c.Helper != "", c.File != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, errors.New("give exactly one of username (with password, passwordFile or passwordEnv), helper or file")
	}
	switch {
	case c.Helper != "":
		return regclient.HelperCredentials(c.Helper), nil
	case c.File != "":
		if _, err := os.Stat(c.File); err != nil {
			return nil, err
		}
		return regclient.FileCredentials(c.File), nil
	}
	secrets := 0
	for _, set := range []bool{c.Password != "", c.PasswordFile != "", c.PasswordEnv != ""} {
		if set {
			secrets++
		}
	}
	if secrets != 1 {
		return nil, errors.New("username needs exactly one of password, passwordFile or passwordEnv")
	}
	pass := c.Password
	switch {
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, err
		}
		pass = strings.TrimRight(string(b), "\r\n")
	case c.PasswordEnv != "":
		v, ok := os.LookupEnv(c.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("passwordEnv: %s is not set", c.PasswordEnv)
		}
		pass = v
	}
	return regclient.StaticCredentials(regclient.Credential{Username: c.Username, Password: pass}), nil
}

// config loads the files the entry names.
func (c tlsConfig) config() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca %s: no PEM certificate in it", c.CA)
		}
		t.RootCAs = pool
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, errors.New("cert and key go together")
	}
	if c.Cert != "" {
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, err
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}

// proxy builds the pull-through cache over backend, or returns nil when no
// upstream is configured. Fills spool under DATA/spool; the upstreams are
// reached through the server's dial guard, which vouches for their hosts.
func (u *upstreamsFlags) proxy(backend served.Backend, dataDir string, remote *netguard.Policy, log *zap.Logger) (*registryhttp.Proxy, error) {
	if len(u.upstreams) == 0 {
		return nil, nil
	}
	c, err := cache.New(backend, u.upstreams, cache.Options{Remote: remote, SpoolDir: filepath.Join(dataDir, "spool")})
	if err != nil {
		return nil, usageError{fmt.Errorf("upstreams: %w", err)}
	}
	for _, up := range u.upstreams {
		ttl := up.TagTTL
		if ttl == 0 {
			ttl = cache.DefaultTagTTL
		}
		log.Info("pull-through cache", zap.String("prefix", up.Prefix), zap.Strings("urls", up.URLs), zap.Duration("tagTTL", ttl))
	}
	return registryhttp.NewProxy(c, log.Named("cache")), nil
}
