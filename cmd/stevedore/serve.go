package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/served"
	s3store "github.com/stevedore-dev/stevedore/engine/served/s3"
	regclient "github.com/stevedore-dev/stevedore/engine/transport/registry"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
	"github.com/stevedore-dev/stevedore/registryhttp"
	"github.com/stevedore-dev/stevedore/service"
	"github.com/stevedore-dev/stevedore/service/version"
)

// serveOptions are the flags of `stevedore serve`.
type serveOptions struct {
	grpcAddr, httpAddr, registryAddr string
	dataDir                          string
	keyDir, pullPolicy               string
	logLevel, logFormat              string
	uploadTTL                        time.Duration
	gcInterval, gcGrace              time.Duration
	noUI                             bool
	engine                           engineFlags
	security                         securityFlags
	storage                          storageFlags

	// The config file (serveconfig.go) and what its sections say.
	config      string
	printConfig bool
	sections    map[string]*yaml.Node // as the file gives them, for --print-config
	syncJobs    []syncJobConfig
	retention   *retentionConfig
	quotas      []served.Quota
	limits      limitFlags
	upstreams   upstreamsFlags
}

// shutdownTimeout bounds how long in-flight requests may run after SIGTERM
// before connections are cut.
const shutdownTimeout = 10 * time.Second

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the gRPC API, its REST gateway and an OCI registry",
		Long: `Serve runs one process with three listeners:
  gRPC      stevedore.v1.ImageService and SignService, health, reflection
  REST      the same API as JSON (grpc-gateway), /openapi.json, /healthz,
            /metrics (Prometheus)
  registry  an OCI distribution registry over the data directory
SIGINT or SIGTERM shuts down gracefully.`,
		Example: `  stevedore serve --data /var/lib/stevedore
  curl 'http://127.0.0.1:8080/v1/images:inspect?ref=127.0.0.1:5000/app:v1'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := loadServeConfig(cmd, &o); err != nil {
				return err
			}
			if o.printConfig {
				return printServeConfig(cmd.OutOrStdout(), cmd, &o)
			}
			return serve(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", os.Getenv("STEVEDORE_CONFIG"), "YAML config file: every flag as a key of the same name, plus the sync, retention and quotas sections; flags and STEVEDORE_<FLAG> variables override it (env STEVEDORE_CONFIG)")
	f.BoolVar(&o.printConfig, "print-config", false, "print the effective config (defaults, --config, environment and flags merged) as YAML and exit")
	f.StringVar(&o.grpcAddr, "grpc-addr", envOr("STEVEDORE_GRPC_ADDR", "127.0.0.1:9090"), "gRPC listen address (env STEVEDORE_GRPC_ADDR)")
	f.StringVar(&o.httpAddr, "http-addr", envOr("STEVEDORE_HTTP_ADDR", "127.0.0.1:8080"), "REST listen address (env STEVEDORE_HTTP_ADDR)")
	f.StringVar(&o.registryAddr, "registry-addr", envOr("STEVEDORE_REGISTRY_ADDR", "127.0.0.1:5000"), "OCI registry listen address (env STEVEDORE_REGISTRY_ADDR)")
	f.StringVar(&o.dataDir, "data", envOr("STEVEDORE_DATA", "./stevedore-data"), "data directory, created if missing (env STEVEDORE_DATA)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.logFormat, "log-format", "", "log format: console (readable lines) or json (one object per line) (default: console on a terminal, else json)")
	f.DurationVar(&o.uploadTTL, "upload-ttl", 24*time.Hour, "remove blob upload sessions started longer ago than this (0: keep them)")
	f.DurationVar(&o.gcInterval, "gc-interval", 0, "collect garbage (as stevedore gc) every this long while serving (0: never)")
	f.DurationVar(&o.gcGrace, "gc-grace", served.DefaultGCGrace, "with --gc-interval: keep unreferenced content changed more recently than this")
	f.StringVar(&o.keyDir, "key-dir", "", "SignService key directory, ID.key and ID.pub in cosign's format (default DATA/keys)")
	f.StringVar(&o.pullPolicy, "pull-policy", "", "trust policy file (see stevedore copy --verify-policy): manifest GETs from the repositories it protects answer 403 DENIED unless signed as it requires; patterns match REGISTRY-ADDR/NAME (default: no enforcement)")
	f.BoolVar(&o.noUI, "no-ui", false, "serve the API only: no web console at / on the REST port")
	o.engine.registerNetwork(cmd)
	o.security.register(cmd)
	o.storage.register(cmd, true)
	o.limits.register(cmd)
	return cmd
}

// envOr returns the environment variable key, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// serve runs the three servers until ctx is cancelled or one of them fails,
// then shuts all of them down. Logs go to logTo.
func serve(ctx context.Context, o serveOptions, logTo io.Writer) error {
	level, err := zapcore.ParseLevel(o.logLevel)
	if err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	log, err := newLogger(logTo, level, o.logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	// Metrics live in a registry of this server's own (not Prometheus's
	// global one) and are served at /metrics on the REST port.
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ops, err := newOpsMetrics(metrics)
	if err != nil {
		return err
	}

	if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	backend, err := o.storage.open(ctx, o.dataDir, true)
	if err != nil {
		return err
	}
	if o.gcInterval < 0 || o.gcGrace <= 0 {
		return usageError{fmt.Errorf("--gc-interval must not be negative and --gc-grace must be positive, got %v and %v", o.gcInterval, o.gcGrace)}
	}
	sec, err := o.security.build(o.dataDir, log)
	if err != nil {
		return err
	}
	if len(o.quotas) > 0 {
		// Every writer below — the registry port, the API's store: refs,
		// sync jobs — gets the backend with the quotas in front.
		qb, err := served.WithQuotas(backend, o.quotas, served.QuotaOptions{Denied: ops.quotaDeniedHook})
		if err != nil {
			return usageError{err}
		}
		backend = qb
		metrics.MustRegister(newQuotaCollector(qb, ops))
	}
	lim, err := o.limits.build(o.storage.localDir(o.dataDir), log.Named("limits"))
	if err != nil {
		return err
	}
	// The pull-through cache fills through the same backend, so quotas
	// bound what it stores too.
	proxy, err := o.upstreams.proxy(backend, o.dataDir, sec.remote, log)
	if err != nil {
		return err
	}
	if proxy != nil {
		defer proxy.Close()
	}
	regOpts := registryhttp.Options{BlobRedirect: o.storage.blobRedirect, Limits: lim.registry, Proxy: proxy}
	var ret *retentionSetup
	if o.retention != nil {
		if o.security.disableDelete {
			return usageError{errors.New("retention removes tags and manifests, which --disable-delete forbids: drop one of them")}
		}
		if ret, err = newRetention(o.retention, backend, o.dataDir, o.gcGrace, ops, log.Named("retention")); err != nil {
			return err
		}
		regOpts.Pulls = ret.pulls
	}
	registry := registryhttp.NewBackend(backend, log.Named("registry"), regOpts)
	var pullPolicy *policy.Policy
	if o.pullPolicy != "" {
		if pullPolicy, err = policy.Load(o.pullPolicy, policyVerifiers); err != nil {
			return usageError{fmt.Errorf("--pull-policy: %w", err)}
		}
	}
	if o.keyDir == "" {
		o.keyDir = filepath.Join(o.dataDir, "keys")
	}

	// Bind every port before serving any, so a busy port fails the start
	// instead of leaving a half-up server.
	var lc net.ListenConfig
	grpcLis, err := lc.Listen(ctx, "tcp", o.grpcAddr)
	if err != nil {
		return fmt.Errorf("gRPC listener: %w", err)
	}
	defer grpcLis.Close()
	httpLis, err := lc.Listen(ctx, "tcp", o.httpAddr)
	if err != nil {
		return fmt.Errorf("REST listener: %w", err)
	}
	defer httpLis.Close()
	regLis, err := lc.Listen(ctx, "tcp", o.registryAddr)
	if err != nil {
		return fmt.Errorf("registry listener: %w", err)
	}
	defer regLis.Close()
	var tlsHTTP *tls.Config
	if sec.tls != nil {
		tlsHTTP = sec.tls.HTTP
	}
	httpLis, regLis = lim.listener(httpLis, tlsHTTP, log.Named("http")), lim.listener(regLis, tlsHTTP, log.Named("registry"))
	if sec.tls != nil {
		httpLis, regLis = tls.NewListener(httpLis, sec.tls.HTTP), tls.NewListener(regLis, sec.tls.HTTP)
	}

	regMetrics, err := registryhttp.NewMetrics(metrics, registry.Backend())
	if err != nil {
		return err
	}
	if err := lim.register(metrics); err != nil {
		return err
	}
	grpcMetrics, err := service.WithMetrics(metrics)
	if err != nil {
		return err
	}
	if err := registerBuildInfo(metrics); err != nil {
		return err
	}
	grpcMetrics = append(grpcMetrics, service.WithVersionHeader(version.Get().String())...)
	if proxy != nil {
		if err := registryhttp.RegisterProxyMetrics(metrics, proxy); err != nil {
			return err
		}
	}

	// Metrics ahead of auth, so refused calls are counted.
	// One engine and one key directory behind both services, so Copy can
	// verify with and sign with the server's keys. The engine reads and
	// writes the registry's own storage directly, as the caller.
	servedHosts := servedHosts(regLis.Addr().String(), o.registryAddr, o.security.registryHosts)
	var writable func(string) error
	if proxy != nil {
		writable = proxy.Cache().Writable // the API may not push into a cache either
	}
	eng := engine.New(engine.Options{
		Registry:      regclient.Options{Insecure: o.engine.insecure},
		Served:        backend,
		ServedHosts:   servedHosts,
		DisableDelete: o.security.disableDelete,
		GCGrace:       o.gcGrace,
		Remote:        sec.remote,
		Local:         sec.local,
		Writable:      writable,
	})
	// What the operator's config runs (sync jobs) runs with an engine of
	// the server's own: not a caller's, so not held to --allow-remote,
	// which keeps callers off the server's network.
	opEng := engine.New(engine.Options{
		Registry: regclient.Options{Insecure: o.engine.insecure}, Served: backend, ServedHosts: servedHosts, GCGrace: o.gcGrace,
	})
	jobs, err := buildSyncJobs(o.syncJobs, o.config, regLis.Addr().String(), opEng.ServedHost, time.Now())
	if err != nil {
		return err
	}
	ops.syncJobs(jobs)
	syncJobs := &syncRunner{jobs: jobs, eng: opEng, metrics: ops, log: log.Named("sync")}
	var apiJobs service.SyncJobs // an interface holding a nil pointer is not nil
	var apiRetention service.Retention
	if len(jobs) > 0 {
		apiJobs = syncJobs
	}
	if ret != nil {
		apiRetention = ret
	}
	imageSrv := service.NewImageServer(eng).WithScheduled(apiJobs, apiRetention)
	signSrv := service.NewSignServer(eng, o.keyDir)
	grpcSrv, health := service.NewGRPCServerFor(imageSrv.WithSigning(signSrv), log.Named("grpc"), append(grpcMetrics, sec.grpcOpts...)...)
	stevedorev1.RegisterSignServiceServer(grpcSrv, signSrv)
	health.SetServingStatus(stevedorev1.SignService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	gw, err := service.NewGateway(ctx, grpcLis.Addr().String(), sec.gatewayDial...)
	if err != nil {
		return err
	}
	defer gw.Close()
	// Browsers reach both HTTP ports: the guards keep other sites' pages
	// and rebound DNS names off them (docs/SECURITY.md).
	restGuard := service.HTTPGuard{
		Listen: httpLis.Addr().String(), Hosts: o.security.httpHosts, AnyHost: !loopback(httpLis.Addr()),
		Origins: o.security.corsOrigins, CSRF: true, Uploads: service.UploadPaths(),
	}
	rest := withMetricsEndpoint(lim.withHealth(gw, health), promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	if !o.noUI {
		// The console's pull commands name the registry by its public name
		// when one is given.
		pullHost := regLis.Addr().String()
		if len(o.security.registryHosts) > 0 {
			pullHost = o.security.registryHosts[0]
		}
		console, err := service.NewConsole(service.ConsoleConfig{
			Auth: o.security.htpasswd != "", Registry: pullHost,
			TLS: sec.tls != nil, DeleteDisabled: o.security.disableDelete, KeyDir: o.keyDir,
		}, sec.token)
		if err != nil {
			return err
		}
		rest = console.Wrap(rest)
	}
	httpSrv := lim.server(restGuard.Wrap(rest), log.Named("http"))
	var regHandler http.Handler = registry
	if pullPolicy != nil {
		// The listener's address names this registry in the policy: the Host
		// header is the client's to choose, so it cannot decide what is protected.
		regHandler = registryhttp.NewPullPolicy(registry, registry, pullPolicy, regLis.Addr().String())
		if proxy != nil {
			regHandler = proxy.Prefetch(regHandler) // the policy judges what the cache would fetch
		}
	}
	regGuard := service.HTTPGuard{Listen: regLis.Addr().String(), Hosts: servedHosts, AnyHost: !loopback(regLis.Addr())}
	regHandler = sec.wrapRegistry(regHandler)
	if proxy != nil {
		regHandler = proxy.WithNamespace(regHandler) // outside auth: permissions are checked on the repository served
	}
	regSrv := lim.server(regGuard.Wrap(regMetrics.Wrap(regHandler)), log.Named("registry"))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return grpcSrv.Serve(grpcLis) })
	g.Go(func() error { return serveHTTP(httpSrv, httpLis) })
	g.Go(func() error { return serveHTTP(regSrv, regLis) })
	if o.uploadTTL > 0 {
		g.Go(func() error {
			expireUploads(gctx, registry.Backend(), o.uploadTTL, min(uploadExpiryInterval, o.uploadTTL), log.Named("uploads"))
			return nil
		})
	}
	if o.gcInterval > 0 {
		g.Go(func() error {
			collectGarbage(gctx, registry.Backend(), o.gcInterval, o.gcGrace, regMetrics, log.Named("gc"))
			return nil
		})
	}
	for _, j := range jobs {
		g.Go(func() error { syncJobs.loop(gctx, j); return nil })
	}
	if ret != nil {
		g.Go(func() error { ret.loop(gctx); return nil })
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		health.Shutdown() // /healthz and gRPC health report NOT_SERVING from here on
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		errs := errors.Join(httpSrv.Shutdown(sctx), regSrv.Shutdown(sctx))
		stopGRPC(sctx, grpcSrv)
		return errs
	})
	log.Info("serving",
		zap.String("grpc", grpcLis.Addr().String()),
		zap.String("http", httpLis.Addr().String()),
		zap.String("registry", regLis.Addr().String()),
		zap.Strings("registryHosts", servedHosts),
		zap.String("data", o.dataDir),
		zap.Strings("allowLocal", sec.local.Roots),
		zap.Strings("allowRemote", sec.remote.Allow),
		zap.String("storage", o.storage.describe()),
		zap.String("config", o.config),
		zap.Int("syncJobs", len(jobs)),
		zap.Bool("retention", ret != nil),
		zap.Int("quotas", len(o.quotas)))
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// loopback reports whether a listener is bound to a loopback address only.
func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// servedHosts are the names clients reach the registry port by: the
// address it listens on and the one it was asked to (which differ for port
// 0), with loopback spellings of the port when it listens on loopback or
// on every interface, and the operator's --registry-host names.
func servedHosts(bound, asked string, extra []string) []string {
	hosts := []string{bound}
	if asked != bound && !strings.HasSuffix(asked, ":0") {
		hosts = append(hosts, asked)
	}
	if host, port, err := net.SplitHostPort(bound); err == nil {
		if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
			for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
				if hp := h + ":" + port; !slices.Contains(hosts, hp) {
					hosts = append(hosts, hp)
				}
			}
		}
	}
	for _, h := range extra {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// withMetricsEndpoint serves GET /metrics (Prometheus text format) beside
// the gateway's routes. Like /healthz it needs no credentials: scrapers
// rarely carry them, and the series hold counts, never repository names.
func withMetricsEndpoint(gw, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			metrics.ServeHTTP(w, r)
			return
		}
		gw.ServeHTTP(w, r)
	})
}

// uploadExpiryInterval is how often serve looks for abandoned upload
// sessions (more often when --upload-ttl is shorter).
const uploadExpiryInterval = 10 * time.Minute

// expireUploads removes upload sessions older than ttl now and then every
// interval until ctx is done. Sessions live on disk so that a client can
// resume after a restart; one that never comes back must not hold the disk
// forever.
func expireUploads(ctx context.Context, root served.Uploads, ttl, interval time.Duration, log *zap.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := root.ExpireUploads(ctx, time.Now().Add(-ttl))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("expiring upload sessions", zap.Error(err))
		case n > 0:
			log.Info("expired upload sessions", zap.Int("count", n), zap.Duration("ttl", ttl))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveHTTP serves srv on lis; the error Shutdown causes is success.
func serveHTTP(srv *http.Server, lis net.Listener) error {
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stopGRPC lets in-flight RPCs finish until ctx expires, then cuts them.
func stopGRPC(ctx context.Context, s *grpc.Server) {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.Stop()
		<-done
	}
}

// storageFlags choose where the registry keeps its state: a data directory
// (the zero-config default) or an S3 bucket that several replicas share.
type storageFlags struct {
	kind                        string
	endpoint, publicEndpoint    string
	bucket, region, prefix      string
	blobRedirect, singleReplica bool
}

func (s *storageFlags) register(cmd *cobra.Command, serving bool) {
	f := cmd.Flags()
	f.StringVar(&s.kind, "storage", envOr("STEVEDORE_STORAGE", "fs"), "where registry state lives: fs (the data directory) or s3 (a bucket replicas share) (env STEVEDORE_STORAGE)")
	f.StringVar(&s.endpoint, "s3-endpoint", os.Getenv("STEVEDORE_S3_ENDPOINT"), "S3 server base URL, e.g. http://127.0.0.1:9000; empty: AWS (env STEVEDORE_S3_ENDPOINT)")
	f.StringVar(&s.bucket, "s3-bucket", os.Getenv("STEVEDORE_S3_BUCKET"), "S3 bucket, which must exist (env STEVEDORE_S3_BUCKET)")
	f.StringVar(&s.region, "s3-region", envOr("STEVEDORE_S3_REGION", "us-east-1"), "S3 region (env STEVEDORE_S3_REGION)")
	f.StringVar(&s.prefix, "s3-prefix", os.Getenv("STEVEDORE_S3_PREFIX"), "key prefix inside the bucket (env STEVEDORE_S3_PREFIX)")
	if serving {
		f.BoolVar(&s.blobRedirect, "blob-redirect", false, "answer blob GETs with a 307 to a presigned S3 URL instead of streaming through this process (s3 only)")
		f.StringVar(&s.publicEndpoint, "s3-public-endpoint", "", "S3 base URL clients can reach, for --blob-redirect (default: --s3-endpoint)")
		f.BoolVar(&s.singleReplica, "s3-single-replica", false, "start even if the S3 server ignores conditional writes; only safe with exactly one replica")
	}
}

// localDir is the data directory when the registry's state lives in it,
// "" when it lives in a bucket.
func (s *storageFlags) localDir(dataDir string) string {
	if s.kind == "s3" {
		return ""
	}
	return dataDir
}

// describe names the storage for the startup log line.
func (s *storageFlags) describe() string {
	if s.kind == "s3" {
		return "s3://" + s.bucket + "/" + s.prefix
	}
	return "fs"
}

// open returns the backend the flags name. In S3 mode credentials come from
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), else the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE); and,
// when probe is set, the server must honour conditional writes, without
// which replicas would overwrite each other's tags and uploads silently.
func (s *storageFlags) open(ctx context.Context, dataDir string, probe bool) (served.Backend, error) {
	switch s.kind {
	case "", "fs":
		if s.blobRedirect {
			return nil, usageError{errors.New("--blob-redirect needs --storage s3")}
		}
		root, err := served.OpenRoot(dataDir)
		if err != nil {
			return nil, fmt.Errorf("registry data directory: %w", err)
		}
		return root.Backend(), nil
	case "s3":
		if s.bucket == "" {
			return nil, usageError{errors.New("--storage s3 needs --s3-bucket")}
		}
		root, err := s3store.NewRoot(ctx, s3store.Options{
			Endpoint: s.endpoint, PublicEndpoint: s.publicEndpoint,
			Bucket: s.bucket, Region: s.region, Prefix: s.prefix,
		})
		if err != nil {
			return nil, err
		}
		if probe {
			if err := root.ProbeConditionalWrites(ctx); err != nil {
				if !errors.Is(err, errdef.ErrUnsupported) || !s.singleReplica {
					return nil, fmt.Errorf("%w (--s3-single-replica starts anyway, for exactly one replica)", err)
				}
			}
		}
		return root, nil
	}
	return nil, usageError{fmt.Errorf("--storage %q: want fs or s3", s.kind)}
}
