package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// limitFlags are the flags of `stevedore serve` that bound slow and greedy
// clients: timeouts and a connection cap on the HTTP ports, and on the
// registry port a minimum body rate, upload limits and a free-space reserve.
// Limits left at 0 are derived from the process's descriptor limit, so a
// server under `ulimit -n 256` sheds load with 503s instead of failing.
type limitFlags struct {
	readHeaderTimeout   time.Duration
	idleTimeout         time.Duration
	minBodyRate         byteSize
	bodyRateWindow      time.Duration
	maxUploads          int
	maxUploadsPerClient int
	maxConnections      int
	minFreeSpace        byteSize
}

func (l *limitFlags) register(cmd *cobra.Command) {
	l.minBodyRate = 1 << 10
	l.minFreeSpace = 64 << 20
	f := cmd.Flags()
	f.DurationVar(&l.readHeaderTimeout, "read-header-timeout", 10*time.Second, "REST and registry ports: time a client has to send a request's headers")
	f.DurationVar(&l.idleTimeout, "idle-timeout", 60*time.Second, "REST and registry ports: close a keep-alive connection idle this long")
	f.Var(&l.minBodyRate, "min-body-rate", "registry: cut a request body slower than this many bytes/s over a whole --body-rate-window (408; an upload session keeps what arrived); 0: no minimum")
	f.DurationVar(&l.bodyRateWindow, "body-rate-window", registryhttp.DefaultBodyRateWindow, "registry: the window --min-body-rate is averaged over")
	f.IntVar(&l.maxUploads, "max-uploads", 0, "registry: blob upload requests in progress from all clients; more get 503 (0: an eighth of the descriptor limit, at most 1024; <0: no limit)")
	f.IntVar(&l.maxUploadsPerClient, "max-uploads-per-client", 64, "registry: blob upload requests in progress from one IP address; more get 429 (<=0: no limit)")
	f.IntVar(&l.maxConnections, "max-connections", 0, "REST and registry ports together: open connections; more are answered 503 and closed (0: half the descriptor limit; <0: no limit)")
	f.Var(&l.minFreeSpace, "min-free-space", "registry on a data directory: refuse new blob uploads (507) while the storage has less free space than this; /healthz says degraded (0: no reserve)")
}

// limits is what the flags build for serve to wire in.
type limits struct {
	flags    *limitFlags
	registry registryhttp.Limits
	maxConns int   // 0: none
	nofile   int64 // the descriptor limit; 0 unknown
	free     func() (int64, error)
	conns    atomic.Int64 // open on the capped listeners, together
}

// build checks the flags and derives the automatic limits. dataDir is the
// data directory, or "" when the storage is a bucket (no free space to watch).
func (l *limitFlags) build(dataDir string, log *zap.Logger) (*limits, error) {
	if l.readHeaderTimeout <= 0 || l.idleTimeout <= 0 || l.bodyRateWindow <= 0 {
		return nil, usageError{fmt.Errorf("--read-header-timeout, --idle-timeout and --body-rate-window must be positive")}
	}
	out := &limits{flags: l, nofile: descriptorLimit()}
	auto := func(v int, derived int64) int {
		switch {
		case v < 0:
			return 0
		case v > 0:
			return v
		case derived > 0:
			return int(derived)
		}
		return 0 // the descriptor limit is unknown: no automatic limit
	}
	out.registry = registryhttp.Limits{
		MinBodyRate:         int64(l.minBodyRate),
		BodyRateWindow:      l.bodyRateWindow,
		MaxUploads:          auto(l.maxUploads, min(out.nofile/8, 1024)),
		MaxUploadsPerClient: max(l.maxUploadsPerClient, 0),
	}
	out.maxConns = auto(l.maxConnections, out.nofile/2)
	if dataDir != "" {
		out.free = func() (int64, error) { return freeSpace(dataDir) }
		out.registry.FreeSpace = out.free
		out.registry.MinFreeSpace = int64(l.minFreeSpace)
	}
	if out.nofile > 0 {
		w := &fdWatch{high: out.nofile - out.nofile/8}
		out.registry.Overloaded = w.overloaded
	}
	log.Info("registry limits",
		zap.Int64("descriptor_limit", out.nofile), zap.Int("max_connections", out.maxConns),
		zap.Int("max_uploads", out.registry.MaxUploads), zap.Int("max_uploads_per_client", out.registry.MaxUploadsPerClient),
		zap.Int64("min_body_rate", out.registry.MinBodyRate), zap.Duration("body_rate_window", l.bodyRateWindow),
		zap.Int64("min_free_space", out.registry.MinFreeSpace))
	return out, nil
}

// server returns an http.Server for h with the timeouts of the flags; the
// server's own complaints (accept errors, TLS handshakes) go to log at warn.
func (l *limits) server(h http.Handler, log *zap.Logger) *http.Server {
	el, _ := zap.NewStdLogAt(log, zapcore.WarnLevel)
	return &http.Server{Handler: h, ReadHeaderTimeout: l.flags.readHeaderTimeout, IdleTimeout: l.flags.idleTimeout, ErrorLog: el}
}

// listener caps lis so that the listeners it wraps have at most maxConns
// open connections together; tlsCfg, when set, is the TLS the listener is
// about to be wrapped in, so a refusal is spoken in it.
func (l *limits) listener(lis net.Listener, tlsCfg *tls.Config, log *zap.Logger) net.Listener {
	if l.maxConns <= 0 {
		return lis
	}
	return &capListener{Listener: lis, max: int64(l.maxConns), open: &l.conns, tls: tlsCfg, log: log, refusing: make(chan struct{}, 64)}
}

// register adds stevedore_storage_free_bytes to the metrics, for a data
// directory.
func (l *limits) register(reg prometheus.Registerer) error {
	if l.free == nil {
		return nil
	}
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "stevedore_storage_free_bytes",
		Help: "Free bytes on the filesystem of the data directory, as available to the server (-1 when it cannot be read).",
	}, func() float64 {
		n, err := l.free()
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// degraded says why the server is degraded, or "" when it is not: the
// storage under --min-free-space refuses uploads while reads go on.
func (l *limits) degraded() string {
	if l.free == nil || l.registry.MinFreeSpace <= 0 {
		return ""
	}
	n, err := l.free()
	if err != nil || n >= l.registry.MinFreeSpace {
		return ""
	}
	return fmt.Sprintf("storage has %d bytes free, under --min-free-space %d: new uploads are refused", n, l.registry.MinFreeSpace)
}

// withHealth answers /healthz "degraded: REASON" (still 200: the server
// serves, only uploads are refused) while degraded says so and gRPC health
// is SERVING; otherwise next (the gateway) answers as always.
func (l *limits) withHealth(next http.Handler, hs *health.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
			if why := l.degraded(); why != "" {
				st, err := hs.Check(r.Context(), &healthpb.HealthCheckRequest{})
				if err == nil && st.GetStatus() == healthpb.HealthCheckResponse_SERVING {
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					_, _ = io.WriteString(w, "degraded: "+why+"\n")
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// fdWatch reports the process near its descriptor limit. It counts open
// descriptors at most every fdSampleEvery, on the request that finds the
// count stale, so it needs no goroutine and costs nothing per request.
type fdWatch struct {
	high    int64
	mu      sync.Mutex
	sampled atomic.Int64 // unix nanoseconds of the last count
	open    atomic.Int64
}

const fdSampleEvery = 50 * time.Millisecond

func (w *fdWatch) overloaded() bool {
	now := time.Now().UnixNano()
	if now-w.sampled.Load() >= int64(fdSampleEvery) && w.mu.TryLock() {
		n, err := openDescriptors()
		if err != nil {
			n = w.high // not even one to count with: full
		}
		w.open.Store(n)
		w.sampled.Store(now)
		w.mu.Unlock()
	}
	return w.open.Load() >= w.high
}

// capListener refuses connections beyond max open ones with a canned 503
// TOOMANYREQUESTS and Retry-After, so that the descriptor table never fills
// (the accept loop would then stall every new client until one leaves).
type capListener struct {
	net.Listener
	max      int64
	open     *atomic.Int64 // shared by the listeners capped together
	tls      *tls.Config
	log      *zap.Logger
	refusing chan struct{} // bounds the refusals being written at once
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &capConn{Conn: c, release: l.release}, nil
		}
		l.open.Add(-1)
		l.refuse(c)
	}
}

func (l *capListener) release() { l.open.Add(-1) }

// refusal is the answer to a connection over the cap. A client may not
// have sent its request yet; HTTP/1.1 clients read an early answer.
var refusal = func() string {
	body := `{"errors":[{"code":"` + errdef.CodeTooManyRequests + `","message":"the server has as many connections open as it allows; retry shortly"}]}`
	return "HTTP/1.1 503 Service Unavailable\r\n" +
		"Content-Type: application/json\r\n" +
		"Docker-Distribution-API-Version: registry/2.0\r\n" +
		"Retry-After: 1\r\n" +
		"Connection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}()

// refuse answers c with the refusal and closes it. While few refusals are
// pending, the answer waits a moment for the client's request head: a client
// that reads an answer arriving before it wrote its request (Go's transport
// among them) takes it for a broken connection, not a 503. After the answer,
// what the client sent meanwhile is read for a moment so that the close does
// not reset the connection before the answer is read. Over TLS the handshake
// comes first. Beyond the pending bound a plain-text connection gets the
// answer at once (it fits the new connection's empty send buffer) and a TLS
// one is closed.
func (l *capListener) refuse(c net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		if l.tls == nil {
			_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
			_, _ = io.WriteString(c, refusal)
		}
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		var conn net.Conn = c
		if l.tls != nil {
			conn = tls.Server(c, l.tls)
		}
		_ = conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		awaitRequestHead(conn)
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := io.WriteString(conn, refusal); err != nil {
			return
		}
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = io.CopyN(io.Discard, conn, 64<<10)
		l.log.Debug("connection refused: at --max-connections", zap.String("remote", c.RemoteAddr().String()))
	}()
}

// awaitRequestHead reads from c until the end of an HTTP request head, 8 KiB,
// an error or the read deadline, whichever comes first.
func awaitRequestHead(c net.Conn) {
	buf := make([]byte, 8<<10)
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if bytes.Contains(buf[:n], []byte("\r\n\r\n")) || err != nil {
			return
		}
	}
}

// capConn gives its place back once, when closed.
type capConn struct {
	net.Conn
	release func()
	once    sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ReadFrom sends a response body: a file through the connection's own
// ReadFrom, so that net/http keeps its zero-copy path (sendfile) through
// the wrapper; anything else (a blob streamed from S3) in large reads and
// writes rather than net/http's 32 KiB ones. A body of 4 MiB or more takes a
// 4 MiB buffer: each socket read then drains what the S3 connection holds
// and each write hands the client as much, which took a 1 GiB pull from one
// S3 replica from 0.81 s to 0.66 s and its CPU from 0.63 to 0.44 s
// (docs/BENCHMARKS.md, Replicas on S3). Small bodies keep 256 KiB.
func (c *capConn) ReadFrom(r io.Reader) (int64, error) {
	src, size := r, int64(-1) // size: the body's length, -1 if unknown
	if lr, ok := r.(*io.LimitedReader); ok {
		src, size = lr.R, lr.N
	}
	if _, file := src.(*os.File); file {
		if rf, ok := c.Conn.(io.ReaderFrom); ok {
			return rf.ReadFrom(r)
		}
	}
	pool := &copyBufs
	if size >= bigCopyBuf {
		pool = &bigCopyBufs
	}
	buf := pool.Get().(*[]byte)
	defer pool.Put(buf)
	return io.CopyBuffer(struct{ io.Writer }{c.Conn}, r, *buf)
}

// bigCopyBuf is the buffer of a large response body.
const bigCopyBuf = 4 << 20

// copyBufs and bigCopyBufs are capConn.ReadFrom's buffers.
var (
	copyBufs    = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
	bigCopyBufs = sync.Pool{New: func() any { b := make([]byte, bigCopyBuf); return &b }}
)
