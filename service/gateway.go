package service

import (
	"context"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// MaxMessageSize is the receive limit clients of this API should set: above
// the largest response (a manifest at the engine's 4 MiB bound, plus framing).
const MaxMessageSize = 8 << 20

// Gateway is the REST face of the gRPC API: grpc-gateway routes (see the
// google.api.http rules in proto/stevedore/v1), /openapi.json and /healthz.
//
// It reaches the gRPC server through a client connection rather than the
// in-process RegisterImageServiceHandlerServer, which cannot carry streaming
// RPCs (GetBlob) and bypasses the interceptors (logging, panic recovery).
type Gateway struct {
	mux    *runtime.ServeMux
	conn   *grpc.ClientConn
	health healthpb.HealthClient
}

// NewGateway returns a Gateway forwarding to the gRPC server at target
// (host:port of the in-process listener; plaintext unless opts say
// otherwise). Close releases the connection.
func NewGateway(ctx context.Context, target string, opts ...grpc.DialOption) (*Gateway, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// A manifest may reach the engine's 4 MiB bound, which with framing
		// overflows gRPC's default 4 MiB receive limit.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize)),
	}, opts...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	g := &Gateway{mux: runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler)), conn: conn, health: healthpb.NewHealthClient(conn)}
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		stevedorev1.RegisterImageServiceHandler, stevedorev1.RegisterSignServiceHandler,
	} {
		if err := register(ctx, g.mux, conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if err := g.registerUploads(); err != nil {
		conn.Close()
		return nil, err
	}
	for path, h := range map[string]http.HandlerFunc{"/openapi.json": serveOpenAPI, "/healthz": g.serveHealthz} {
		if err := g.mux.HandlePath(http.MethodGet, path, func(w http.ResponseWriter, r *http.Request, _ map[string]string) { h(w, r) }); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// Close closes the connection to the gRPC server.
func (g *Gateway) Close() error { return g.conn.Close() }

// serveHealthz answers 200 "ok" while the gRPC server behind the gateway
// reports SERVING, and 503 otherwise (also during shutdown), so a probe sees
// the whole path a REST request takes.
func (g *Gateway) serveHealthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := g.health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not serving\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
