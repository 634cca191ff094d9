package registryhttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// newLimited serves a registry over a fresh data directory with opts; wrap,
// when set, goes around it (outermost).
func newLimited(t *testing.T, opts registryhttp.Options, wrap func(reg *registryhttp.Registry) http.Handler) (*server, *registryhttp.Registry) {
	t.Helper()
	data := t.TempDir()
	root, err := served.OpenRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	return newOver(t, root.Backend(), data, nil, opts, wrap)
}

func newOver(t *testing.T, b served.Backend, data string, log *zap.Logger, opts registryhttp.Options, wrap func(reg *registryhttp.Registry) http.Handler) (*server, *registryhttp.Registry) {
	t.Helper()
	reg := registryhttp.NewBackend(b, log, opts)
	var h http.Handler = reg
	if wrap != nil {
		h = wrap(reg)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &server{t: t, url: ts.URL, data: data}, reg
}

// stalledPatch starts a PATCH of session loc whose body sends first and
// then waits for more; it returns once the registry is reading the body
// (admitted), with the writer to go on and the channel the answer comes on.
func stalledPatch(t *testing.T, s *server, loc string, first []byte, reading <-chan struct{}) (*io.PipeWriter, <-chan *http.Response) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPatch, s.url+loc, pr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		done <- res
	}()
	go func() { _, _ = pw.Write(first) }()
	select {
	case <-reading:
	case <-time.After(10 * time.Second):
		t.Fatal("the registry never read the PATCH body")
	}
	return pw, done
}

// signalOnRead wraps the registry so that the first read of a PATCH body
// closes reading: the request was admitted and is in the handler.
func signalOnRead(reading chan struct{}) func(reg *registryhttp.Registry) http.Handler {
	return func(reg *registryhttp.Registry) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				r.Body = &firstRead{ReadCloser: r.Body, ch: reading}
			}
			reg.ServeHTTP(w, r)
		})
	}
}

type firstRead struct {
	io.ReadCloser
	ch   chan struct{}
	done bool
}

func (f *firstRead) Read(p []byte) (int, error) {
	if !f.done {
		f.done = true
		close(f.ch)
	}
	return f.ReadCloser.Read(p)
}

// Upload requests over a client's share get 429, over the server's 503,
// both with Retry-After and before any byte is read; the slot comes back
// when the request ends. Reads are never limited.
func TestUploadLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits registryhttp.Limits
		status int
	}{
		{"per client", registryhttp.Limits{MaxUploadsPerClient: 1}, http.StatusTooManyRequests},
		{"overall", registryhttp.Limits{MaxUploads: 1}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reading := make(chan struct{})
			s, reg := newLimited(t, registryhttp.Options{Limits: tc.limits}, signalOnRead(reading))
			loc := s.mustStatus(s.do("POST", "/v2/lim/a/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")
			pw, done := stalledPatch(t, s, loc, []byte("first bytes"), reading)

			for _, r := range []resp{
				s.do("POST", "/v2/lim/b/blobs/uploads/", nil),
				s.do("PATCH", loc, []byte("more")),
				s.do("PUT", loc+"?digest="+digest.FromString("x").String(), nil),
			} {
				if r.status != tc.status || r.code() != "TOOMANYREQUESTS" || r.header.Get("Retry-After") == "" {
					t.Fatalf("upload while the limit is taken: %d %s Retry-After %q, want %d TOOMANYREQUESTS with Retry-After: %s",
						r.status, r.code(), r.header.Get("Retry-After"), tc.status, r.body)
				}
			}
			s.mustStatus(s.do("GET", "/v2/", nil), http.StatusOK)
			s.mustStatus(s.do("GET", loc, nil), http.StatusNoContent)
			if n, _ := reg.Backend().CountUploads(t.Context()); n != 1 {
				t.Errorf("%d sessions, want only the first: a refused POST opens none", n)
			}

			pw.Close()
			if res := <-done; res == nil || res.StatusCode != http.StatusAccepted {
				t.Fatalf("the admitted PATCH: %v, want 202", res)
			}
			s.mustStatus(s.do("POST", "/v2/lim/b/blobs/uploads/", nil), http.StatusAccepted)
		})
	}
}

// Under --min-free-space, new uploads get 507 INSUFFICIENT_STORAGE before a
// byte is written (no session is opened); with space again they work.
func TestMinFreeSpace(t *testing.T) {
	var free atomic.Int64
	free.Store(10 << 20)
	limits := registryhttp.Limits{MinFreeSpace: 64 << 20, FreeSpace: func() (int64, error) { return free.Load(), nil }}
	s, reg := newLimited(t, registryhttp.Options{Limits: limits}, nil)
	blob := []byte("blob bytes")
	d := digest.FromBytes(blob)
	for _, r := range []resp{
		s.do("POST", "/v2/full/a/blobs/uploads/", nil),
		s.do("POST", "/v2/full/a/blobs/uploads/?digest="+d.String(), blob),
	} {
		if r.status != http.StatusInsufficientStorage || r.code() != "INSUFFICIENT_STORAGE" {
			t.Fatalf("upload under the reserve: %d %s, want 507 INSUFFICIENT_STORAGE: %s", r.status, r.code(), r.body)
		}
	}
	if n, _ := reg.Backend().CountUploads(t.Context()); n != 0 {
		t.Errorf("%d sessions after refused uploads, want 0", n)
	}
	s.mustStatus(s.do("GET", "/v2/_catalog", nil), http.StatusOK)

	free.Store(1 << 30)
	s.pushBlob("full/a", blob)
}

// Near the descriptor limit every new request gets 503 with Retry-After and
// Connection: close, so its descriptor comes back at once.
func TestOverloaded(t *testing.T) {
	var over atomic.Bool
	over.Store(true)
	s, _ := newLimited(t, registryhttp.Options{Limits: registryhttp.Limits{Overloaded: over.Load}}, nil)
	r := s.do("GET", "/v2/", nil)
	if r.status != http.StatusServiceUnavailable || r.code() != "TOOMANYREQUESTS" || r.header.Get("Retry-After") == "" {
		t.Fatalf("GET /v2/ overloaded: %d %s Retry-After %q", r.status, r.code(), r.header.Get("Retry-After"))
	}
	over.Store(false)
	s.mustStatus(s.do("GET", "/v2/", nil), http.StatusOK)
}

// A body below the minimum rate for a whole window is cut with 408, stalled
// or trickling; the session keeps what arrived, and a body at speed passes.
func TestMinBodyRate(t *testing.T) {
	limits := registryhttp.Limits{MinBodyRate: 10_000, BodyRateWindow: 300 * time.Millisecond}
	for _, tc := range []struct {
		name  string
		first []byte
		more  func(w io.Writer) // sends the rest, slowly
	}{
		{"stalled", bytes.Repeat([]byte("a"), 100), func(io.Writer) {}},
		{"trickling", []byte("a"), func(w io.Writer) {
			for range 20 {
				time.Sleep(50 * time.Millisecond)
				if _, err := w.Write([]byte("b")); err != nil {
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reading := make(chan struct{})
			s, _ := newLimited(t, registryhttp.Options{Limits: limits}, signalOnRead(reading))
			loc := s.mustStatus(s.do("POST", "/v2/slow/a/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")
			start := time.Now()
			pw, done := stalledPatch(t, s, loc, tc.first, reading)
			go tc.more(pw)
			var res *http.Response
			select {
			case res = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the slow body was not cut")
			}
			pw.Close()
			if res == nil || res.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("slow PATCH: %v, want 408", res)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("cut after %v, the window is %v", el, limits.BodyRateWindow)
			}
			st := s.mustStatus(s.do("GET", loc, nil), http.StatusNoContent)
			if rng := st.header.Get("Range"); !strings.HasPrefix(rng, "0-") || rng == "0-0" && len(tc.first) > 1 {
				t.Errorf("session Range %q after the cut: what arrived is kept", rng)
			}
		})
	}
	t.Run("at speed", func(t *testing.T) {
		s, _ := newLimited(t, registryhttp.Options{Limits: limits}, nil)
		s.pushBlob("fast/a", bytes.Repeat([]byte("fast"), 1<<16))
	})
}

// fullDisk is a backend whose writes fail as a full filesystem's do.
type fullDisk struct {
	served.Backend
	full atomic.Bool
}

func (f *fullDisk) enospc(op string) error {
	return &os.PathError{Op: op, Path: "/data/blobs/sha256/x", Err: syscall.ENOSPC}
}

func (f *fullDisk) WriteUpload(ctx context.Context, repo, id string, start, size int64, body io.Reader) (served.Upload, error) {
	if f.full.Load() {
		return served.Upload{}, f.enospc("write")
	}
	return f.Backend.WriteUpload(ctx, repo, id, start, size, body)
}

func (f *fullDisk) CommitUpload(ctx context.Context, repo, id string, d digest.Digest, start, size int64, body io.Reader) (int64, error) {
	if f.full.Load() {
		return 0, f.enospc("write")
	}
	return f.Backend.CommitUpload(ctx, repo, id, d, start, size, body)
}

func (f *fullDisk) Put(ctx context.Context, repo served.Repository, desc oci.Descriptor, r io.Reader) error {
	if f.full.Load() {
		return f.enospc("write")
	}
	return f.Backend.Put(ctx, repo, desc, r)
}

func (f *fullDisk) StartUpload(ctx context.Context, repo string) (served.Upload, error) {
	if f.full.Load() {
		return served.Upload{}, f.enospc("mkdir")
	}
	return f.Backend.StartUpload(ctx, repo)
}

// A full disk answers 507 INSUFFICIENT_STORAGE with the spec's envelope on
// every write, never a 500, and the server path stays out of the message.
func TestStorageFull(t *testing.T) {
	data := t.TempDir()
	root, err := served.OpenRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	fd := &fullDisk{Backend: root.Backend()}
	s, _ := newOver(t, fd, data, nil, registryhttp.Options{}, nil)
	img, _ := s.pushImage("disk/a", "v1", nil, "")
	loc := s.mustStatus(s.do("POST", "/v2/disk/a/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")
	fd.full.Store(true)
	blob := []byte("more bytes")
	d := digest.FromBytes(blob)
	for _, r := range []resp{
		s.do("POST", "/v2/disk/a/blobs/uploads/", nil),
		s.do("POST", "/v2/disk/a/blobs/uploads/?digest="+d.String(), blob),
		s.do("PATCH", loc, blob),
		s.do("PUT", loc+"?digest="+d.String(), blob),
		s.do("PUT", "/v2/disk/a/manifests/v2", img, "Content-Type", "application/vnd.oci.image.manifest.v1+json"),
	} {
		if r.status != http.StatusInsufficientStorage || r.code() != "INSUFFICIENT_STORAGE" {
			t.Errorf("write on a full disk: %d %s, want 507 INSUFFICIENT_STORAGE: %s", r.status, r.code(), r.body)
		}
		if bytes.Contains(r.body, []byte("/data/")) {
			t.Errorf("507 names a server path: %s", r.body)
		}
	}
	s.mustStatus(s.do("GET", "/v2/disk/a/manifests/v1", nil), http.StatusOK)
	s.mustStatus(s.do("GET", "/v2/disk/a/manifests/v2", nil), http.StatusNotFound)
	fd.full.Store(false)
	s.pushBlob("disk/a", blob)
}

// A client that hangs up mid-upload is logged and counted as 499, never as
// a 5xx, and its session keeps what arrived.
func TestClientGone(t *testing.T) {
	reading := make(chan struct{})
	pr := prometheus.NewRegistry()
	var m *registryhttp.Metrics
	data := t.TempDir()
	root, err := served.OpenRoot(data)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	s, reg := newOver(t, root.Backend(), data, zap.New(core), registryhttp.Options{}, func(reg *registryhttp.Registry) http.Handler {
		var err error
		if m, err = registryhttp.NewMetrics(pr, reg.Backend()); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(pr, promhttp.HandlerOpts{}))
		mux.Handle("/", m.Wrap(signalOnRead(reading)(reg)))
		return mux
	})
	loc := s.mustStatus(s.do("POST", "/v2/gone/a/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")

	ctx, cancel := context.WithCancel(t.Context())
	pipeR, pipeW := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, s.url+loc, pipeR)
	errc := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	go func() { _, _ = pipeW.Write(bytes.Repeat([]byte("z"), 4096)) }()
	<-reading
	cancel() // the client hangs up mid-body
	pipeW.CloseWithError(context.Canceled)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}

	// The server notices, ends the request and counts it.
	var got map[string]float64
	series := `stevedore_registry_requests_total{code="499",method="PATCH",route="upload"}`
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = scrape(t, s.url+"/metrics"); got[series] == 1 {
			break
		}
	}
	if got[series] != 1 {
		t.Fatalf("%s = %v, want 1", series, got[series])
	}
	for k := range got {
		if strings.HasPrefix(k, "stevedore_registry_requests_total{code=\"5") {
			t.Errorf("a client hanging up was counted as %s", k)
		}
	}
	if n, _ := reg.Backend().CountUploads(t.Context()); n != 1 {
		t.Errorf("%d sessions, want the interrupted one kept", n)
	}
	var patched bool
	for _, e := range logs.All() {
		status, _ := e.ContextMap()["status"].(int64)
		if status >= 500 || e.Level > zapcore.InfoLevel {
			t.Errorf("log line %s %q with status %d", e.Level, e.Message, status)
		}
		patched = patched || status == 499
	}
	if !patched {
		t.Error("no log line with status 499")
	}
}
