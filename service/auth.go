package service

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Authenticator checks an RPC's credentials, the value of its
// "authorization" metadata ("Bearer TOKEN" or "Basic ..."; empty when
// absent), and returns the caller's user name, or an error when they are
// missing or wrong.
type Authenticator func(ctx context.Context, authorization string) (user string, err error)

// publicServices stay reachable without credentials: probes and grpcurl
// must work before anyone has a token, and neither reveals images.
var publicServices = []string{"/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"}

// WithAuth returns the server options that refuse, with Unauthenticated,
// every RPC but health and reflection whose credentials authn rejects. Pass
// them to NewGRPCServer: they run inside its logging and panic recovery, so
// refusals are logged like any other RPC.
//
// The REST gateway needs nothing more: grpc-gateway forwards the HTTP
// Authorization header as "authorization" metadata.
func WithAuth(authn Authenticator) []grpc.ServerOption {
	check := func(ctx context.Context, method string) (context.Context, error) {
		for _, p := range publicServices {
			if strings.HasPrefix(method, p) {
				return ctx, nil
			}
		}
		var h string
		if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) > 0 {
			h = v[0]
		}
		user, err := authn(ctx, h)
		if err != nil {
			// The reason (expired token, wrong password) helps the caller
			// and tells nothing about what the server holds.
			return nil, newStatus(codes.Unauthenticated, codeUnauthorized, "authentication required: "+err.Error())
		}
		return context.WithValue(ctx, userKey{}, user), nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			ctx, err := check(ctx, info.FullMethod)
			if err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			ctx, err := check(ss.Context(), info.FullMethod)
			if err != nil {
				return err
			}
			return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
		}),
	}
}

// userKey keys the authenticated user name in a request context.
type userKey struct{}

// UserFromContext returns the user WithAuth authenticated the RPC as, and
// false when auth is off.
func UserFromContext(ctx context.Context) (string, bool) {
	u, ok := ctx.Value(userKey{}).(string)
	return u, ok
}

// ctxStream is a ServerStream carrying a derived context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
