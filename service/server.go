package service

import (
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/stevedore-dev/stevedore/engine"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// NewGRPCServer builds the gRPC server: ImageService over eng, the standard
// health service (reporting SERVING for "" and stevedore.v1.ImageService) and
// server reflection (so grpcurl needs no proto files). Every RPC is logged to
// log and recovered from panics. The caller serves it and, on shutdown, marks
// the returned health server NOT_SERVING (health.Server.Shutdown) first.
func NewGRPCServer(eng *engine.Engine, log *zap.Logger, opts ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	return NewGRPCServerFor(NewImageServer(eng), log, opts...)
}

// NewGRPCServerFor is NewGRPCServer serving img, an ImageServer set up
// beyond its engine (ImageServer.WithSigning lends it the SignServer's key
// directory for policy keys and sign-during-copy).
func NewGRPCServerFor(img *ImageServer, log *zap.Logger, opts ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	opts = append([]grpc.ServerOption{
		// Logging outermost, so it records the Internal a recovered panic becomes.
		grpc.ChainUnaryInterceptor(logUnary(log), recoverUnary(log)),
		grpc.ChainStreamInterceptor(logStream(log), recoverStream(log)),
	}, append(transportOptions(), opts...)...)
	s := grpc.NewServer(opts...)
	stevedorev1.RegisterImageServiceServer(s, img)

	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(stevedorev1.ImageService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s)
	return s, hs
}

// Transport sizes for blob streams. HTTP/2 frames are at most 16 KiB, so
// gRPC's 32 KiB default write buffer makes a write(2) per two frames; 1 MiB
// buffers make it one per 64, on both directions. Windows of 8 MiB per
// stream and 16 MiB per connection let an upload (Append, PushArtifact)
// stream without waiting for window updates; a download is paced by the
// client's windows (the Go client sets the same).
const (
	bufferSize       = 1 << 20
	streamWindowSize = 8 << 20
	connWindowSize   = 16 << 20
)

// transportOptions are the sizes above as server options.
func transportOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.WriteBufferSize(bufferSize),
		grpc.ReadBufferSize(bufferSize),
		grpc.InitialWindowSize(streamWindowSize),
		grpc.InitialConnWindowSize(connWindowSize),
		withBlobCodec(),
	}
}
