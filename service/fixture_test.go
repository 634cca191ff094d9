package service

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// fixture is an OCI layout written into a temp dir: tag "v1" is an image
// with a small and a 2.5 MiB layer; tag "multi" is an index listing that image
// for linux/amd64 and linux/arm64/v8.
type fixture struct {
	dir      string
	manifest []byte // raw manifest of v1
	index    []byte // raw index of multi
	layers   [][]byte
	config   []byte
}

func (f *fixture) ref(id string) string { return "oci:" + f.dir + id }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: t.TempDir()}
	fs, err := store.CreateFS(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(mediaType string, b []byte) oci.Descriptor {
		t.Helper()
		d := oci.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	big := make([]byte, 5<<19) // 2.5 MiB: two full chunks and a half
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	f.layers = [][]byte{[]byte("small layer"), big}
	f.config = []byte(`{"created":"2024-05-06T07:08:09Z","author":"tester","os":"linux","architecture":"amd64",` +
		`"config":{"User":"app","Env":["A=1"],"Entrypoint":["/bin/app"],"Cmd":["serve"],"WorkingDir":"/srv",` +
		`"Labels":{"l":"v"},"ExposedPorts":{"8080/tcp":{},"443/tcp":{}}},"rootfs":{"type":"layers","diff_ids":[]}}`)
	cfg := put(oci.MediaTypeImageConfig, f.config)
	var layers []oci.Descriptor
	for _, l := range f.layers {
		layers = append(layers, put(oci.MediaTypeLayer, l))
	}
	f.manifest = mustJSON(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest,
		"config": cfg, "layers": layers, "annotations": map[string]string{"a": "b"},
	})
	m := put(oci.MediaTypeImageManifest, f.manifest)
	if err := fs.Tag(ctx, m, "v1"); err != nil {
		t.Fatal(err)
	}
	amd, arm := m, m
	amd.Platform = &oci.Platform{OS: "linux", Architecture: "amd64"}
	arm.Platform = &oci.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	f.index = mustJSON(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{amd, arm},
	})
	if err := fs.Tag(ctx, put(oci.MediaTypeImageIndex, f.index), "multi"); err != nil {
		t.Fatal(err)
	}
	return f
}

// bufTarget is the client target for a bufconn listener; dialling it needs
// the option startServer returns.
const bufTarget = "passthrough:///bufnet"

// startServer serves the full gRPC server (interceptors, health, reflection)
// on a bufconn and returns a client connection to it and the dial option
// that reaches it.
func startServer(t *testing.T) (*grpc.ClientConn, grpc.DialOption) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv, _ := NewGRPCServer(engine.New(engine.Options{}), zap.NewNop())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	conn, err := grpc.NewClient(bufTarget, dialer, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return conn, dialer
}

func newClient(t *testing.T) stevedorev1.ImageServiceClient {
	conn, _ := startServer(t)
	return stevedorev1.NewImageServiceClient(conn)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
