package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		str  string
	}{
		{"0", 0, "0"},
		{"1024", 1024, "1KiB"},
		{"1KiB", 1024, "1KiB"},
		{"64MiB", 64 << 20, "64MiB"},
		{"1GB", 1e9, "1000000000"},
		{"1500", 1500, "1500"},
		{" 2 GiB ", 2 << 30, "2GiB"},
		{"10B", 10, "10"},
	} {
		var b byteSize
		if err := b.Set(tc.in); err != nil || int64(b) != tc.want || b.String() != tc.str {
			t.Errorf("Set(%q) = %d %q, %v; want %d %q", tc.in, int64(b), b.String(), err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "x", "-1", "99999999999TiB", "GiB"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("Set(%q) = %d, want an error", bad, int64(b))
		}
	}
}

// Connections over the cap are answered 503 TOOMANYREQUESTS with
// Retry-After and closed; once one closes, a new one is served.
func TestCapListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := &limits{maxConns: 2}
	lis := lim.listener(raw, nil, zap.NewNop())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Close() })
	addr := raw.Addr().String()

	// Two idle connections take the places.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	waitOpen(t, lis.(*capListener), 2)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var env struct{ Errors []struct{ Code string } }
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		json.Unmarshal(body, &env) != nil || len(env.Errors) != 1 || env.Errors[0].Code != "TOOMANYREQUESTS" {
		t.Fatalf("over the cap: %s %v %s", res.Status, res.Header, body)
	}

	held[0].Close()
	waitOpen(t, lis.(*capListener), 1)
	res, err = (&http.Client{Transport: tr}).Get("http://" + addr + "/v2/")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("after a place freed: %v %v", res, err)
	}
	res.Body.Close()
	held[1].Close()
}

func waitOpen(t *testing.T, l *capListener, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); l.open.Load() != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", l.open.Load(), n)
		}
	}
}

// The automatic limits follow the descriptor limit; explicit ones win and a
// negative one turns the limit off.
func TestLimitsBuild(t *testing.T) {
	var f limitFlags
	f.readHeaderTimeout, f.idleTimeout, f.bodyRateWindow = time.Second, time.Second, time.Second
	f.maxUploadsPerClient = 64
	l, err := f.build(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if l.nofile > 0 && (l.registry.MaxUploads != int(min(l.nofile/8, 1024)) || l.maxConns != int(l.nofile/2) || l.registry.Overloaded == nil) {
		t.Errorf("descriptor limit %d: uploads %d, connections %d", l.nofile, l.registry.MaxUploads, l.maxConns)
	}
	if free, err := l.free(); err != nil || free <= 0 {
		t.Errorf("free space %d, %v", free, err)
	}
	f.maxUploads, f.maxConnections = -1, 7
	if l, _ = f.build("", zap.NewNop()); l.registry.MaxUploads != 0 || l.maxConns != 7 || l.free != nil || l.degraded() != "" {
		t.Errorf("explicit: uploads %d, connections %d, free %v", l.registry.MaxUploads, l.maxConns, l.free != nil)
	}
	f.idleTimeout = 0
	if _, err := f.build("", zap.NewNop()); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Errorf("zero idle timeout: %v", err)
	}
}
