package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// stevedoreServer is a running `stevedore serve` with its three listeners.
type stevedoreServer struct {
	GRPC     string // gRPC address
	HTTP     string // REST gateway address (http://HTTP/...)
	Registry string // OCI registry address (HOST for refs)
	Data     string // --data directory
	Conn     *grpc.ClientConn
	proc     *proc
}

// serveOptions configure startStevedore; the zero value serves an empty data dir.
type serveOptions struct {
	Data string   // --data; empty means a fresh temp dir
	Env  []string // extra environment, e.g. DOCKER_CONFIG=...
	Args []string // extra flags
	// Default serves with the safe defaults only. Otherwise the API may
	// also reach the loopback registries the tests start and the temp
	// directories they use (testAccess).
	Default bool
	// Prefix runs the server through a command that ends by exec'ing its
	// arguments (prlimit, unshare), so the server keeps its process id.
	Prefix []string
}

// testAccess lets a test server's API reach what the tests set up beside
// it: registries on loopback ports and layouts in temp directories. A
// default serve refuses both (see TestServeSafeDefaults).
var testAccess = []string{"--allow-remote", "127.0.0.1:*", "--allow-remote", "localhost:*", "--allow-local", "any"}

// startStevedore runs `stevedore serve` on three free ports and waits until
// all three answer: gRPC health (or Unimplemented, which still proves the
// server is up), GET /healthz, and GET /v2/. A port found free can be taken
// (by another process's outgoing connection) before the server binds it; a
// server that exits on that is started again on new ports, up to 3 times.
func startStevedore(o owner, name string, opts serveOptions) (*stevedoreServer, error) {
	for attempt := 1; ; attempt++ {
		s, err := startStevedoreOnce(o, name, opts)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "bind: address already in use") {
			return s, err
		}
	}
}

// startStevedoreOnce is one attempt of startStevedore.
func startStevedoreOnce(o owner, name string, opts serveOptions) (*stevedoreServer, error) {
	addrs, err := freeAddrs(3)
	if err != nil {
		return nil, err
	}
	s := &stevedoreServer{GRPC: addrs[0], HTTP: addrs[1], Registry: addrs[2], Data: opts.Data}
	if s.Data == "" {
		s.Data = o.TempDir()
	}
	args := []string{"serve", "--grpc-addr", s.GRPC, "--http-addr", s.HTTP, "--registry-addr", s.Registry, "--data", s.Data}
	if !opts.Default {
		args = append(args, testAccess...)
	}
	args = append(args, opts.Args...)
	bin := stevedoreBin
	if len(opts.Prefix) > 0 {
		bin, args = opts.Prefix[0], append(append(opts.Prefix[1:len(opts.Prefix):len(opts.Prefix)], stevedoreBin), args...)
	}
	if s.proc, err = startProc(o, name, opts.Env, bin, args...); err != nil {
		return nil, err
	}
	if s.Conn, err = grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return nil, err
	}
	o.Cleanup(func() { s.Conn.Close() })
	health := healthpb.NewHealthClient(s.Conn)
	err = s.proc.waitReady(30*time.Second, func(ctx context.Context) error {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		switch {
		case status.Code(err) == codes.Unimplemented:
		case err != nil:
			return err
		case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
			return fmt.Errorf("grpc health: %v: %w", resp.GetStatus(), errNotYet)
		}
		if err := httpStatusIs(ctx, "http://"+s.HTTP+"/healthz", http.StatusOK); err != nil {
			return err
		}
		return httpStatusIs(ctx, "http://"+s.Registry+"/v2/", http.StatusOK)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// pid is the server's process id, for /proc readings.
func (s *stevedoreServer) pid() int { return s.proc.cmd.Process.Pid }

// TestServeEndpoints checks the gateway's own endpoints: /healthz and the
// OpenAPI document describing the REST routes the tests use.
func TestServeEndpoints(t *testing.T) {
	s := sharedServer(t)
	resp, err := http.Get("http://" + s.HTTP + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %s", resp.Status)
	}
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("GET /openapi.json: not JSON: %v", err)
	}
	for _, p := range []string{"/v1/images:inspect", "/v1/manifests", "/v1/tags", "/v1/blobs"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("/openapi.json has no path %s", p)
		}
	}
	if err := httpStatusIs(context.Background(), "http://"+s.HTTP+"/healthz", http.StatusOK); err != nil {
		t.Error(err)
	}
}
