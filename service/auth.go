package service

import (
	"context"
	"strings"

	"github.com/stevedore-dev/stevedore/engine"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Caller is who an authenticated RPC comes from: a user, with the rights
// that user has on the served store's repositories (the same as on the
// registry port: the engine checks them on every store: reference).
type Caller interface {
	User() string
	engine.Access
}

// Authenticator checks an RPC's credentials, the value of its
// "authorization" metadata ("Bearer TOKEN" or "Basic ..."; empty when
// absent), and returns the caller, or an error when they are missing or
// wrong.
type Authenticator func(ctx context.Context, authorization string) (Caller, error)

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
		caller, err := authn(ctx, h)
		if err != nil {
			// The reason (expired token, wrong password) helps the caller
			// and tells nothing about what the server holds.
			return nil, newStatus(codes.Unauthenticated, codeUnauthorized, "authentication required: "+err.Error())
		}
		noteUser(ctx, caller.User())
		return context.WithValue(ctx, callerKey{}, caller), nil
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

// callerKey keys the authenticated Caller in a request context.
type callerKey struct{}

// CallerFromContext returns the caller WithAuth authenticated the RPC as,
// and false when auth is off.
func CallerFromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// engineFor is eng acting as the RPC's caller (eng itself when auth is
// off): every store: reference it opens is checked against the caller's
// rights.
func engineFor(ctx context.Context, eng *engine.Engine) *engine.Engine {
	if c, ok := CallerFromContext(ctx); ok {
		return eng.As(c)
	}
	return eng
}

// ctxStream is a ServerStream carrying a derived context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
