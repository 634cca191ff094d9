package service

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stevedore-dev/stevedore/engine"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// TestWithMetrics counts RPCs by method and code, unary and streaming.
func TestWithMetrics(t *testing.T) {
	f := newFixture(t)
	pr := prometheus.NewRegistry()
	opts, err := WithMetrics(pr)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	srv, _ := NewGRPCServer(engine.New(engine.Options{}), zap.NewNop(), opts...)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(bufTarget, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := stevedorev1.NewImageServiceClient(conn)
	ctx := context.Background()

	if _, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: f.ref(":v1")}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: f.ref(":missing")})
	_, _ = c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: "::not a ref"})
	st, err := c.GetBlob(ctx, &stevedorev1.GetBlobRequest{Ref: f.ref(":missing")})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := st.Recv(); err != nil {
			break
		}
	}

	mfs, err := pr.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]float64{}
	var observed uint64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "stevedore_grpc_requests_total":
				got[[2]string{labels["method"], labels["code"]}] = m.GetCounter().GetValue()
			case "stevedore_grpc_request_duration_seconds":
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	const inspect, getBlob = "/stevedore.v1.ImageService/Inspect", "/stevedore.v1.ImageService/GetBlob"
	for _, tc := range []struct {
		method, code string
		want         float64
	}{
		{inspect, "OK", 1},
		{inspect, "NotFound", 1},
		{inspect, "InvalidArgument", 1},
		{getBlob, "InvalidArgument", 1}, // a tag, not a digest
	} {
		t.Run(tc.method+" "+tc.code, func(t *testing.T) {
			if v := got[[2]string{tc.method, tc.code}]; v != tc.want {
				t.Errorf("stevedore_grpc_requests_total{method=%q,code=%q} = %v, want %v (all: %v)", tc.method, tc.code, v, tc.want, got)
			}
		})
	}
	if observed != 4 {
		t.Errorf("duration histogram holds %d observations, want 4", observed)
	}
}
