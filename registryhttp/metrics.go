package registryhttp

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stevedore-dev/stevedore/engine/served"
)

// Metrics are the Prometheus collectors of the registry port: requests by
// route, method and status code, their duration, body bytes in each
// direction, upload sessions and garbage-collection runs. They are
// registered with a registry the caller owns (never the global default), so
// tests and programs embedding the package stay free of global state.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	bytesIn   *prometheus.CounterVec
	bytesOut  *prometheus.CounterVec
	started   prometheus.Counter
	completed prometheus.Counter
	gcRuns    *prometheus.CounterVec
}

// Route labels. The set is closed so that no request, however odd its path
// or method, can add a time series.
const (
	routeBase      = "base"      // /v2/
	routeCatalog   = "catalog"   // /v2/_catalog
	routeManifest  = "manifest"  // /v2/<name>/manifests/<ref>
	routeBlob      = "blob"      // /v2/<name>/blobs/<digest>
	routeUpload    = "upload"    // /v2/<name>/blobs/uploads/[<id>]
	routeTags      = "tags"      // /v2/<name>/tags/list
	routeReferrers = "referrers" // /v2/<name>/referrers/<digest>
	routeOther     = "other"     // anything else: 404s, the token endpoint
)

// durationBuckets span a cached manifest GET (a millisecond) to a
// multi-gigabyte layer pushed over a slow link (minutes).
var durationBuckets = []float64{.001, .0025, .01, .025, .1, .25, 1, 2.5, 10, 30, 120, 600}

// NewMetrics creates the registry's collectors and registers them with reg.
// uploads, when not nil, backs a gauge of the upload sessions in storage,
// read at each scrape so that it also counts sessions from before a restart
// (or of other replicas) and forgets expired ones.
func NewMetrics(reg prometheus.Registerer, uploads served.Uploads) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_registry_requests_total",
			Help: "Requests to the OCI registry port, by route, method and HTTP status code; 499 counts requests whose client went away before the answer.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stevedore_registry_request_duration_seconds",
			Help:    "Time from request to the end of the response body on the OCI registry port.",
			Buckets: durationBuckets,
		}, []string{"route", "method"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_registry_received_bytes_total",
			Help: "Request body bytes read on the OCI registry port (blobs and manifests pushed).",
		}, []string{"route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_registry_sent_bytes_total",
			Help: "Response body bytes written on the OCI registry port (blobs and manifests pulled).",
		}, []string{"route"}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stevedore_registry_upload_sessions_started_total",
			Help: "Blob upload sessions opened (POST answered 202, or a monolithic POST answered 201).",
		}),
		completed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stevedore_registry_upload_sessions_completed_total",
			Help: "Blob upload sessions closed with a verified blob (PUT, or a monolithic POST, answered 201).",
		}),
		gcRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_gc_runs_total",
			Help: "Garbage-collection runs over the data directory, by result (ok, error).",
		}, []string{"result"}),
	}
	cs := []prometheus.Collector{m.requests, m.duration, m.bytesIn, m.bytesOut, m.started, m.completed, m.gcRuns}
	if uploads != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "stevedore_registry_upload_sessions_active",
			Help: "Blob upload sessions on disk: opened and not yet completed, cancelled or expired.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := uploads.CountUploads(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Zero series for the results, so a rate() over them exists before the
	// first run.
	m.gcRuns.WithLabelValues("ok")
	m.gcRuns.WithLabelValues("error")
	return m, nil
}

// GCRun records one garbage-collection run; err == nil means it succeeded.
// The online collector calls it after each sweep.
func (m *Metrics) GCRun(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.gcRuns.WithLabelValues(result).Inc()
}

// Wrap returns h instrumented. It goes outermost, around authentication and
// the delete switch too, so refused requests (401, 405) are counted like
// any other.
func (m *Metrics) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route, method := routeOf(r.URL.Path), methodLabel(r.Method)
		mw := &meteredWriter{ResponseWriter: w}
		var body *countingBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &countingBody{ReadCloser: r.Body}
			r.Body = body
		}
		h.ServeHTTP(mw, r)

		status := mw.status
		switch {
		case mw.gone:
			// Counted apart, never as the 5xx or 4xx the server did not send
			// to anyone.
			status = statusClientGone
		case status == 0:
			status = http.StatusOK // net/http's answer to a handler that wrote nothing
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		if body != nil && body.n > 0 {
			m.bytesIn.WithLabelValues(route).Add(float64(body.n))
		}
		if mw.n > 0 {
			m.bytesOut.WithLabelValues(route).Add(float64(mw.n))
		}
		if route == routeUpload {
			m.countUpload(r, status)
		}
	})
}

// countUpload follows a session's life from the status of each upload
// request.
//
// distribution-spec v1.1.1 §Pushing blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
func (m *Metrics) countUpload(r *http.Request, status int) {
	switch {
	case r.Method == http.MethodPost && status == http.StatusAccepted:
		m.started.Inc()
	case r.Method == http.MethodPost && status == http.StatusCreated && !r.URL.Query().Has("mount"):
		// A monolithic POST opens and closes a session in one request; a
		// 201 to a mount moved no bytes and opened none.
		m.started.Inc()
		m.completed.Inc()
	case r.Method == http.MethodPut && status == http.StatusCreated:
		m.completed.Inc()
	}
}

// routeOf names the endpoint of a distribution-spec path the way route does:
// from the end, because repository names may hold any number of components,
// including ones called "blobs" or "manifests". The name is not validated
// here; an invalid one still gets its endpoint's label.
//
// distribution-spec v1.1.1 §Endpoints:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func routeOf(path string) string {
	if path == "/v2/" || path == "/v2" {
		return routeBase
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return routeOther
	}
	if rest == "_catalog" {
		return routeCatalog
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	at := func(i int) string { return segs[n-i] }
	switch {
	case n >= 4 && at(3) == "blobs" && at(2) == "uploads":
		return routeUpload
	case n >= 3 && at(2) == "tags" && at(1) == "list":
		return routeTags
	case n >= 3 && at(2) == "manifests":
		return routeManifest
	case n >= 3 && at(2) == "blobs" && at(1) == "uploads":
		return routeUpload
	case n >= 3 && at(2) == "blobs":
		return routeBlob
	case n >= 3 && at(2) == "referrers":
		return routeReferrers
	}
	return routeOther
}

// methodLabel keeps the method label to the ones the spec uses.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return m
	}
	return "other"
}

// meteredWriter records the status and counts the body bytes; gone is set
// (markClientGone) when the client went away before its answer.
type meteredWriter struct {
	http.ResponseWriter
	status int
	n      int64
	gone   bool
}

func (w *meteredWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *meteredWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom keeps the zero-copy path (sendfile) of the writer underneath,
// which blob GETs depend on for their throughput.
func (w *meteredWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *meteredWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the request body bytes the handler reads.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
