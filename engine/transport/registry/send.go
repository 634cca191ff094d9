package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// request is one API call, kept apart from *http.Request so that it can be
// sent again after a 401 or a retryable failure.
type request struct {
	method string
	url    string
	header http.Header
	// body is a replayable body; stream a one-shot one (a blob being pushed),
	// which makes the request impossible to resend unless reopen can give
	// the stream afresh (the blob's source opened again).
	body   []byte
	stream io.Reader
	size   int64 // ContentLength of stream; < 0 unknown
	reopen func() (io.Reader, error)
	// streamUsed records that stream went out with an attempt: a resend
	// needs reopen.
	streamUsed bool
	// push asks for a pull,push token rather than a pull one.
	push bool
	// safe marks a non-GET request that may be resent (a token POST).
	safe bool
}

func (q *request) replayable() bool { return q.stream == nil || q.reopen != nil }

// idempotent reports whether resending q after an ambiguous failure (a reset
// connection, a 500) cannot do harm.
func (q *request) idempotent() bool {
	switch q.method {
	case http.MethodGet, http.MethodHead, http.MethodPut:
		return q.replayable()
	}
	return q.safe && q.replayable()
}

// send performs an API request against the registry: it authorizes it,
// retries transient failures, and answers a 401 challenge once by obtaining
// credentials or a token and resending. The response is returned whatever
// its status; callers pass it to expect.
func (r *Repository) send(ctx context.Context, q *request) (*http.Response, error) {
	scope := r.scope(q.push)
	for reauthed := false; ; reauthed = true {
		resp, err := r.retry(ctx, q, func(req *http.Request) error {
			return r.auth.authorize(ctx, req, scope)
		})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized || reauthed || !q.replayable() {
			return resp, nil
		}
		again, err := r.auth.challenged(ctx, resp, scope)
		if err != nil {
			resp.Body.Close()
			return nil, err
		}
		if !again {
			return resp, nil
		}
		drain(resp)
	}
}

// retry sends q, calling prepare on every attempt, and resends it with
// exponential backoff and jitter (or the server's Retry-After) on 429,
// 502/503/504, 500 for idempotent requests, and connection failures, whatever
// the verb. Requests with a one-shot body are never resent; a streamed body
// with reopen is opened again for each resend.
func (r *Repository) retry(ctx context.Context, q *request, prepare func(*http.Request) error) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := r.newHTTPRequest(ctx, q)
		if err != nil {
			return nil, err
		}
		if prepare != nil {
			if err := prepare(req); err != nil {
				return nil, err
			}
		}
		resp, err := r.client.Do(req)
		last := attempt >= r.opts.MaxRetries || !q.replayable()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", q.method, redactURL(q.url), ctx.Err())
			}
			var ve *oci.VerifyError
			if errors.As(err, &ve) {
				// The caller's stream did not match its descriptor: not the network's fault.
				return nil, ve
			}
			if errors.Is(err, errdef.ErrDenied) {
				// A dial guard refused the destination: asking again changes nothing.
				return nil, fmt.Errorf("%s %s: %w", q.method, redactURL(q.url), unwrapURLError(err))
			}
			if last || !retryableError(err, q.idempotent()) {
				return nil, unavailable(q, err, attempt+1)
			}
			if err := sleep(ctx, r.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if last || !retryableStatus(resp.StatusCode, q.idempotent()) {
			return resp, nil
		}
		wait := r.backoff(attempt)
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = min(d, r.maxWait)
		}
		drain(resp)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// newHTTPRequest builds the wire request for one attempt of q.
func (r *Repository) newHTTPRequest(ctx context.Context, q *request) (*http.Request, error) {
	var body io.Reader
	switch {
	case q.stream != nil:
		if q.streamUsed {
			if q.reopen == nil {
				return nil, fmt.Errorf("%s %s: the request body cannot be sent twice: %w", q.method, redactURL(q.url), errdef.ErrInvalid)
			}
			s, err := q.reopen()
			if err != nil {
				return nil, err
			}
			q.stream = s
		}
		q.streamUsed = true
		body = q.stream
	case q.body != nil:
		body = bytes.NewReader(q.body)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, q.url, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %w", q.method, redactURL(q.url), err, errdef.ErrInvalid)
	}
	if q.stream != nil {
		req.ContentLength = q.size
	}
	for k, v := range q.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", r.opts.UserAgent)
	return req, nil
}

// retryableStatus reports whether a response status is worth a retry.
func retryableStatus(code int, idempotent bool) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusInternalServerError:
		return idempotent
	}
	return false
}

// retryableError reports whether a transport error may be transient.
// A refused dial never reached the server, so any replayable request may be
// resent; other failures (a reset mid-response) only when idempotent.
// Certificate and name-resolution failures will not fix themselves.
func retryableError(err error, idempotent bool) bool {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	if idempotent {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// unwrapURLError drops net/http's *url.Error wrapper, whose text repeats
// the method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// unavailable wraps a transport failure that outlasted the retries.
func unavailable(q *request, err error, attempts int) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	u, _ := url.Parse(q.url)
	host := ""
	if u != nil {
		host = u.Host
	}
	return fmt.Errorf("%s %s: registry %s unreachable after %d attempt(s): %v: %w",
		q.method, redactURL(q.url), host, attempts, err, errdef.ErrUnavailable)
}

// backoff returns the delay before retry attempt+1: exponential from
// backoffBase, capped at maxWait, with "equal jitter" so that clients
// rate-limited together do not return together.
func (r *Repository) backoff(attempt int) time.Duration {
	d := r.backoffBase << min(attempt, 16)
	if d <= 0 || d > r.maxWait {
		d = r.maxWait
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// drain discards a little of a response body so the connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
