package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/stevedore-dev/stevedore/service"
	"github.com/stevedore-dev/stevedore/service/version"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the server's log writes while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestServe starts `stevedore serve` on free ports (addresses from the
// environment, the data directory from a flag), checks all three ports
// answer within 2 s, then cancels it and expects a clean exit.
func TestServe(t *testing.T) {
	grpcAddr, httpAddr, regAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	t.Setenv("STEVEDORE_GRPC_ADDR", grpcAddr)
	t.Setenv("STEVEDORE_HTTP_ADDR", httpAddr)
	t.Setenv("STEVEDORE_REGISTRY_ADDR", regAddr)
	data := filepath.Join(t.TempDir(), "data")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"serve", "--data", data}, io.Discard, &logs) }()

	deadline := time.Now().Add(2 * time.Second)
	waitOK := func(url string) {
		t.Helper()
		for {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not answering 200 within 2s (last error %v); logs:\n%s", url, err, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOK("http://" + httpAddr + "/healthz")
	waitOK("http://" + httpAddr + "/openapi.json")
	waitOK("http://" + regAddr + "/v2/")

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
	defer hcancel()
	var header metadata.MD
	resp, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{Service: "stevedore.v1.ImageService"}, grpc.Header(&header))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health: %v %v", resp, err)
	}

	// The build is named the same way on every surface.
	v := version.Get()
	if got := header.Get(service.VersionHeader); len(got) != 1 || got[0] != v.String() {
		t.Errorf("gRPC header %s = %q, want %q", service.VersionHeader, got, v.String())
	}
	var doc struct{ Info struct{ Version string } }
	if err := json.Unmarshal(httpGet(t, "http://"+httpAddr+"/openapi.json"), &doc); err != nil || doc.Info.Version != v.Version {
		t.Errorf("openapi info.version %q (%v), want %q", doc.Info.Version, err, v.Version)
	}
	metric := fmt.Sprintf(`stevedore_build_info{build_date=%q,goversion=%q,revision=%q,version=%q} 1`, v.BuildDate, v.GoVersion, v.Commit, v.Version)
	if m := httpGet(t, "http://"+httpAddr+"/metrics"); !bytes.Contains(m, []byte(metric)) {
		t.Errorf("/metrics lacks %s", metric)
	}

	cancel()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("exit %d after shutdown; logs:\n%s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	if out := logs.String(); !strings.Contains(out, `"msg":"serving"`) || !strings.Contains(out, `"msg":"stopped"`) {
		t.Errorf("logs lack serving/stopped lines:\n%s", out)
	}
}

// httpGet returns the body of a GET that must answer 200.
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

func TestLogFormat(t *testing.T) {
	for _, tc := range []struct {
		format string
		check  func(t *testing.T, line string)
	}{
		{"", func(t *testing.T, line string) { // not a terminal: JSON
			var rec struct{ TS, Msg string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Msg != "hello" {
				t.Fatalf("not a JSON record: %q (%v)", line, err)
			}
			if _, err := time.Parse(time.RFC3339, rec.TS); err != nil {
				t.Errorf("ts %q is not RFC 3339: %v", rec.TS, err)
			}
		}},
		{"json", func(t *testing.T, line string) {
			if !strings.HasPrefix(line, `{"level":"info","ts":"`) {
				t.Errorf("json line %q", line)
			}
		}},
		{"console", func(t *testing.T, line string) {
			ts, rest, _ := strings.Cut(line, "\t")
			if _, err := time.Parse(time.RFC3339, ts); err != nil {
				t.Errorf("console time %q is not RFC 3339: %v", ts, err)
			}
			if !strings.HasPrefix(rest, "INFO\t") || !strings.Contains(rest, "\thello\t") || !strings.Contains(rest, `{"k": "v"}`) {
				t.Errorf("console line %q", line)
			}
		}},
	} {
		t.Run("format="+tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, zapcore.InfoLevel, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello", zap.String("k", "v"))
			tc.check(t, strings.TrimSuffix(buf.String(), "\n"))
		})
	}
	if _, err := newLogger(io.Discard, zapcore.InfoLevel, "xml"); !errors.As(err, new(usageError)) {
		t.Errorf("--log-format xml: %v, want a usage error", err)
	}
}
