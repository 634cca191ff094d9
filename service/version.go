package service

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// VersionHeader is the response header (gRPC metadata, sent before the
// first message) that names the server's build on every RPC, health checks
// and reflection included: `grpcurl -v` prints it under "Response headers
// received", and the REST gateway passes it on as Grpc-Metadata-Stevedore-Version.
const VersionHeader = "stevedore-version"

// WithVersionHeader returns the server options that send VersionHeader with
// value v (`stevedore version`'s one-line form) on every RPC. Header metadata:
// https://github.com/grpc/grpc/blob/v1.76.0/doc/PROTOCOL-HTTP2.md#responses
func WithVersionHeader(v string) []grpc.ServerOption {
	md := metadata.Pairs(VersionHeader, v)
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			// The error can only be "headers already sent", impossible before the handler ran.
			_ = grpc.SetHeader(ctx, md)
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			_ = ss.SetHeader(md)
			return handler(srv, ss)
		}),
	}
}
