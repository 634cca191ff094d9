package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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
	resp, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{Service: "stevedore.v1.ImageService"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health: %v %v", resp, err)
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
