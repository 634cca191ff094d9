package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// distRegistry is a CNCF distribution registry process: the reference
// registry stevedore pulls from and pushes to in these tests.
type distRegistry struct {
	Host   string // 127.0.0.1:PORT
	Root   string // storage rootdirectory
	Config string // its configuration file
	proc   *proc
}

// distOptions configure startDistribution; the zero value is an open registry.
type distOptions struct {
	// Htpasswd, when set, is the path of an htpasswd file (bcrypt lines) and
	// turns on basic auth.
	Htpasswd string
	// RemoteURL, when set, makes the registry a pull-through cache of that
	// registry (distribution's proxy mode).
	RemoteURL string
	// S3, when set, stores into a bucket with distribution's own S3 driver
	// instead of the filesystem.
	S3 *distS3
}

// distS3 is the storage.s3 section of distribution's configuration.
type distS3 struct {
	Endpoint, AccessKey, SecretKey, Bucket string
	// Redirect lets blob GETs answer with a presigned URL of the bucket
	// (distribution's default); false serves the bytes through the registry.
	Redirect bool
}

// startDistribution runs `registry serve` on a free port with a fresh
// storage root and waits until /v2/ answers.
func startDistribution(o owner, name string, opts distOptions) (*distRegistry, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir := o.TempDir()
	r := &distRegistry{Host: addr, Root: filepath.Join(dir, "root"), Config: filepath.Join(dir, "config.yml")}
	storage := fmt.Sprintf("{filesystem: {rootdirectory: %q}, delete: {enabled: true}}", r.Root)
	if s := opts.S3; s != nil {
		// https://distribution.github.io/distribution/storage-drivers/s3/
		storage = fmt.Sprintf("{s3: {accesskey: %q, secretkey: %q, region: us-east-1, regionendpoint: %q, forcepathstyle: true, secure: false, bucket: %q, rootdirectory: /dist}, delete: {enabled: true}, redirect: {disable: %t}}",
			s.AccessKey, s.SecretKey, s.Endpoint, s.Bucket, !s.Redirect)
	}
	cfg := fmt.Sprintf(`version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: %s
http: {addr: %q}
`, storage, addr)
	if opts.Htpasswd != "" {
		cfg += fmt.Sprintf("auth: {htpasswd: {realm: test, path: %q}}\n", opts.Htpasswd)
	}
	if opts.RemoteURL != "" {
		cfg += fmt.Sprintf("proxy: {remoteurl: %q}\n", opts.RemoteURL)
	}
	cfgPath := r.Config
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	// The registry reads OTEL settings from the environment; keep it quiet and local.
	env := []string{"OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none"}
	if r.proc, err = startProc(o, name, env, "registry", "serve", cfgPath); err != nil {
		return nil, err
	}
	want := http.StatusOK
	if opts.Htpasswd != "" {
		want = http.StatusUnauthorized
	}
	// distribution-spec v1.1.1 §Determining support:
	// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#determining-support
	err = r.proc.waitReady(30*time.Second, func(ctx context.Context) error {
		return httpStatusIs(ctx, "http://"+addr+"/v2/", want)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// httpStatusIs GETs url and checks the status; the readiness probe of every server.
func httpStatusIs(ctx context.Context, url string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: %s, want %d: %w", url, resp.Status, want, errNotYet)
	}
	return nil
}
