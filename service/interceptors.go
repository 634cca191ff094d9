package service

import (
	"context"
	"runtime/debug"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// logUnary writes one log line per unary RPC: method, code, duration, and
// the user who made it when auth is on.
func logUnary(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx, user := withUserNote(ctx)
		resp, err := handler(ctx, req)
		logRPC(log, info.FullMethod, *user, err, time.Since(start))
		return resp, err
	}
}

// logStream writes one log line per streaming RPC, adding the bytes sent.
func logStream(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		ctx, user := withUserNote(ss.Context())
		cs := &countingStream{ServerStream: &ctxStream{ServerStream: ss, ctx: ctx}}
		err := handler(srv, cs)
		logRPC(log, info.FullMethod, *user, err, time.Since(start), zap.Int64("bytes", cs.bytes))
		return err
	}
}

// userNoteKey keys where the auth interceptor, which runs inside the
// logging one, leaves the user it authenticated, for the log line.
type userNoteKey struct{}

// withUserNote gives ctx a place for the RPC's user.
func withUserNote(ctx context.Context) (context.Context, *string) {
	u := new(string)
	return context.WithValue(ctx, userNoteKey{}, u), u
}

// noteUser records the RPC's user for its log line.
func noteUser(ctx context.Context, user string) {
	if u, ok := ctx.Value(userNoteKey{}).(*string); ok {
		*u = user
	}
}

func logRPC(log *zap.Logger, method, user string, err error, d time.Duration, extra ...zap.Field) {
	st := status.Convert(err)
	fields := append([]zap.Field{
		zap.String("method", method),
		zap.String("code", st.Code().String()),
		zap.Duration("duration", d),
	}, extra...)
	if user != "" {
		fields = append(fields, zap.String("user", user))
	}
	switch st.Code() {
	case codes.OK:
		log.Info("rpc", fields...)
	case codes.Internal, codes.Unknown, codes.DataLoss:
		log.Error("rpc", append(fields, zap.String("error", st.Message()))...)
	default:
		log.Info("rpc", append(fields, zap.String("error", st.Message()))...)
	}
}

// countingStream counts the encoded size of the messages sent.
type countingStream struct {
	grpc.ServerStream
	bytes int64
}

func (s *countingStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		switch m := m.(type) {
		case proto.Message:
			s.bytes += int64(proto.Size(m))
		case interface{ Len() int }:
			s.bytes += int64(m.Len())
		}
	}
	return err
}

// recoverUnary turns a panic in a handler into Internal, so one bad request
// cannot take the server down; the stack goes to the log, not the client.
func recoverUnary(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicked(log, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream is recoverUnary for streaming RPCs.
func recoverStream(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicked(log, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}

func panicked(log *zap.Logger, method string, p any) error {
	log.Error("rpc panicked", zap.String("method", method), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
	return status.Error(codes.Internal, "internal error")
}
