package stevedoreclient_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/served"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
	"github.com/stevedore-dev/stevedore/service"
)

// bigSize is the fixture's big layer: five full 1 MiB chunks and a bit, so
// streams have several chunks to drop between.
const bigSize = 5<<20 + 123

// Shared by every test and example: one fixture layout and one in-process
// server over it, on a loopback port (nothing leaves the machine).
var (
	fx   *fixture.Fixture
	addr string
	// dist is host:port of a CNCF distribution registry holding the
	// fixture's files image as fixture/files:v1; empty when the registry
	// binary is not installed (the tests that need it skip).
	dist string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "stevedoreclient-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if fx, err = fixture.Write(context.Background(), dir, bigSize); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var stop func()
	if addr, stop, err = serve(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	if dist, stop, err = startDistribution(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

// serve starts the real gRPC server (service.NewGRPCServer) on a loopback
// port with extra server options, and returns its address.
func serve(opts ...grpc.ServerOption) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	// The server serves a store of its own, as `stevedore serve` does, for
	// store: references and the management calls.
	data, err := os.MkdirTemp("", "stevedoreclient-data-")
	if err != nil {
		return "", nil, err
	}
	root, err := served.OpenRoot(data)
	if err != nil {
		return "", nil, err
	}
	eng := engine.New(engine.Options{Served: root.Backend()})
	srv, _ := service.NewGRPCServer(eng, zap.NewNop(), opts...)
	// SignService keys live in a directory of their own per server, as
	// `serve --key-dir` gives it.
	keyDir, err := os.MkdirTemp("", "stevedoreclient-keys-")
	if err != nil {
		return "", nil, err
	}
	stevedorev1.RegisterSignServiceServer(srv, service.NewSignServer(eng, keyDir))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	return lis.Addr().String(), func() { srv.Stop(); <-done; os.RemoveAll(keyDir); os.RemoveAll(data) }, nil
}

// startServer is serve for one test.
func startServer(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	a, stop, err := serve(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return a
}

// dropper cuts GetBlob streams short, the way a lost connection does:
// stream number i (from 0) sends sends(i) messages and then fails with
// Unavailable, or, when clean is set, ends as if complete.
type dropper struct {
	sends   func(i int) int
	clean   bool
	streams atomic.Int32
}

func (d *dropper) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	i := int(d.streams.Add(1)) - 1
	ds := &dropStream{ServerStream: ss, left: d.sends(i)}
	err := handler(srv, ds)
	if ds.dropped && d.clean {
		return nil
	}
	return err
}

type dropStream struct {
	grpc.ServerStream
	left    int
	dropped bool
}

func (s *dropStream) SendMsg(m any) error {
	if s.left <= 0 {
		s.dropped = true
		return status.Error(codes.Unavailable, "injected: connection lost")
	}
	s.left--
	return s.ServerStream.SendMsg(m)
}
