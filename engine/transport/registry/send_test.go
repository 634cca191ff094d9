package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		fail      int // requests answered with status before success
		status    int
		header    map[string]string
		wantE     error
		wantCalls int32
		minWait   time.Duration
	}{
		{"429 retry-after then ok", 1, http.StatusTooManyRequests, map[string]string{"Retry-After": "1"}, nil, 2, time.Second},
		{"503 twice then ok", 2, http.StatusServiceUnavailable, nil, nil, 3, 0},
		{"500 for GET is retried", 1, http.StatusInternalServerError, nil, nil, 2, 0},
		{"503 exhausted", 100, http.StatusServiceUnavailable, nil, errdef.ErrUnavailable, 3, 0},
		{"429 exhausted", 100, http.StatusTooManyRequests, map[string]string{"Retry-After": "0"}, errdef.ErrTooManyRequests, 3, 0},
		{"404 not retried", 100, http.StatusNotFound, nil, errdef.ErrNotFound, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			f := newFakeRegistry()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= int32(tt.fail) {
					for k, v := range tt.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tt.status)
					return
				}
				f.ServeHTTP(w, r)
			}))
			defer srv.Close()
			r := testRepo(t, srv, Options{MaxRetries: 2})
			start := time.Now()
			_, err := r.Tags(ctx)
			if !errors.Is(err, tt.wantE) || (tt.wantE == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantE)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if el := time.Since(start); el < tt.minWait {
				t.Errorf("returned after %v, before Retry-After %v", el, tt.minWait)
			}
		})
	}
}

func TestNoRetryOfStreamedBody(t *testing.T) {
	var puts atomic.Int32
	f := newFakeRegistry()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			puts.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	r := testRepo(t, srv, Options{})
	blob := "a blob that can only be read once"
	err := r.Push(context.Background(), descOf([]byte(blob)), strings.NewReader(blob))
	if !errors.Is(err, errdef.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if puts.Load() != 1 {
		t.Errorf("%d PUTs, want 1", puts.Load())
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := New(addr, "t/x", Options{Credentials: anonymous, MaxRetries: 2})
	r.backoffBase = time.Millisecond
	_, err = r.Tags(context.Background())
	if !errors.Is(err, errdef.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	for _, want := range []string{addr, "3 attempt", "refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	r := testRepo(t, srv, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Tags(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("did not stop waiting on cancellation")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := retryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	r := New("h", "n", Options{})
	for attempt := range 40 {
		d := r.backoff(attempt)
		if d <= 0 || d > r.maxWait {
			t.Errorf("backoff(%d) = %v", attempt, d)
		}
	}
}
