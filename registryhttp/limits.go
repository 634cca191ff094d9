package registryhttp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// Limits bound what one request, one client or all of them together may hold
// of the registry, so that slow or greedy clients cannot starve the others.
// A refusal happens before the request reads or writes anything and says
// when to come back (Retry-After); requests already admitted run to the end.
// The zero value limits nothing.
type Limits struct {
	// MinBodyRate is the slowest a request body may arrive, in bytes per
	// second averaged over each BodyRateWindow: a body that falls below it
	// for a whole window is cut (408). An upload session keeps what arrived,
	// so an honest client on a bad link resumes from the session's Range.
	// 0 means no minimum.
	MinBodyRate int64
	// BodyRateWindow is the window of MinBodyRate; <= 0 means 30 s.
	BodyRateWindow time.Duration
	// MaxUploads bounds the upload requests (POST, PATCH, PUT of a blob
	// upload) in progress from all clients; over it they get 503. 0: none.
	MaxUploads int
	// MaxUploadsPerClient bounds them per client IP address; over it they
	// get 429. 0: none.
	MaxUploadsPerClient int
	// MinFreeSpace is the free storage, in bytes, under which new uploads
	// (POST, and PATCH or PUT with a body) are refused with 507 before a
	// byte is written; manifests, tags and reads still work. It needs
	// FreeSpace.
	MinFreeSpace int64
	// FreeSpace reports the storage's free bytes; nil when unknown (a
	// bucket).
	FreeSpace func() (int64, error)
	// Overloaded reports the process near a resource limit (its descriptor
	// table); while it does, new requests get 503. nil: never.
	Overloaded func() bool
}

// DefaultBodyRateWindow is the window of Limits.MinBodyRate when none is set.
const DefaultBodyRateWindow = 30 * time.Second

// errBodyTooSlow ends the read of a body slower than Limits.MinBodyRate.
var errBodyTooSlow = errors.New("request body too slow")

// admission counts the uploads in progress, in all and per client.
type admission struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
}

// admit decides whether the request may start, and wraps its body in the
// rate check. release, never nil, gives back what admit took.
func (reg *Registry) admit(w http.ResponseWriter, r *http.Request, e endpoint) (release func(), err error) {
	l := &reg.opts.Limits
	release = func() {}
	if l.Overloaded != nil && l.Overloaded() {
		return release, &regError{class: classOverloaded, msg: "the registry is near its descriptor limit; retry shortly", retryAfter: 1}
	}
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	if e == endUploadStart || ((e == endUploadPatch || e == endUploadPut) && hasBody) {
		if err := l.checkFreeSpace(); err != nil {
			return release, err
		}
	}
	if e == endUploadStart || e == endUploadPatch || e == endUploadPut {
		if release, err = reg.admitUpload(clientIP(r)); err != nil {
			return release, err
		}
	}
	if hasBody && l.MinBodyRate > 0 {
		r.Body = newRateBody(r.Body, http.NewResponseController(w), l.MinBodyRate, l.BodyRateWindow)
	}
	return release, nil
}

// checkFreeSpace refuses an upload while the storage is under MinFreeSpace.
// An error asking how much is free lets the upload through: the write
// itself then says whether there was room.
func (l *Limits) checkFreeSpace() error {
	if l.MinFreeSpace <= 0 || l.FreeSpace == nil {
		return nil
	}
	free, err := l.FreeSpace()
	if err != nil || free >= l.MinFreeSpace {
		return nil
	}
	return fail(classNoSpace, fmt.Sprintf("the registry's storage has %d bytes free, under the %d it keeps in reserve; new uploads are refused until space is freed", free, l.MinFreeSpace))
}

// admitUpload takes an upload slot for client, or says which limit is full.
func (reg *Registry) admitUpload(client string) (func(), error) {
	l, a := &reg.opts.Limits, &reg.uploads
	if l.MaxUploads <= 0 && l.MaxUploadsPerClient <= 0 {
		return func() {}, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if l.MaxUploads > 0 && a.total >= l.MaxUploads {
		return func() {}, &regError{class: classOverloaded, retryAfter: 1,
			msg: "the registry has " + strconv.Itoa(a.total) + " uploads in progress, its limit; retry shortly"}
	}
	if l.MaxUploadsPerClient > 0 && a.byClient[client] >= l.MaxUploadsPerClient {
		return func() {}, &regError{class: classBusy, retryAfter: 1,
			msg: "this client has " + strconv.Itoa(a.byClient[client]) + " uploads in progress, the most one client may; retry when one ends"}
	}
	if a.byClient == nil {
		a.byClient = map[string]int{}
	}
	a.total++
	a.byClient[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.total--
			if a.byClient[client]--; a.byClient[client] <= 0 {
				delete(a.byClient, client)
			}
		})
	}, nil
}

// clientIP is the address a request came from, without its port. Behind a
// proxy that is the proxy's: its clients share one allowance.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateBody cuts a request body that delivers less than rate bytes per
// second over a whole window. The connection's read deadline is the end of
// the current window and moves only when the window has seen its bytes, so
// a stalled or trickling body is cut by the deadline rather than waited for.
type rateBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	rate     int64
	window   time.Duration
	need     int64     // bytes a window must bring
	start    time.Time // of the current window
	got      int64     // bytes in the current window
	deadline bool      // the connection has a read deadline of ours
	err      error
}

func newRateBody(body io.ReadCloser, rc *http.ResponseController, rate int64, window time.Duration) *rateBody {
	if window <= 0 {
		window = DefaultBodyRateWindow
	}
	b := &rateBody{ReadCloser: body, rc: rc, rate: rate, window: window, start: time.Now()}
	b.need = max(int64(float64(rate)*window.Seconds()), 1)
	b.deadline = rc.SetReadDeadline(b.start.Add(window)) == nil
	return b
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.ReadCloser.Read(p)
	b.got += int64(n)
	now := time.Now()
	switch {
	case err == io.EOF:
		b.clearDeadline()
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded), err == nil && b.got < b.need && now.Sub(b.start) >= b.window:
		b.err = fmt.Errorf("%w: under %d bytes/s for %v", errBodyTooSlow, b.rate, b.window)
		return n, b.err
	case b.got >= b.need:
		b.start, b.got = now, 0
		if b.deadline {
			_ = b.rc.SetReadDeadline(now.Add(b.window))
		}
	}
	return n, err
}

// clearDeadline lifts the read deadline once the body is read: the server
// goes on reading the connection to notice a client that leaves, and must
// not take our deadline for that.
func (b *rateBody) clearDeadline() {
	if b.deadline {
		_ = b.rc.SetReadDeadline(time.Time{})
		b.deadline = false
	}
}
