package service

import (
	"context"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// TestRecoverAndLog: a panicking handler becomes Internal, and the log line
// written around it records that code.
func TestRecoverAndLog(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	info := &grpc.UnaryServerInfo{FullMethod: "/stevedore.v1.ImageService/Inspect"}
	panics := func(context.Context, any) (any, error) { panic("bad input") }
	inner := func(ctx context.Context, req any) (any, error) {
		return recoverUnary(log)(ctx, req, info, panics)
	}
	_, err := logUnary(log)(context.Background(), nil, info, inner)
	checkStatus(t, err, codes.Internal, "")

	var rpc []observer.LoggedEntry
	for _, e := range logs.All() {
		if e.Message == "rpc" {
			rpc = append(rpc, e)
		}
	}
	if len(rpc) != 1 {
		t.Fatalf("%d rpc log lines, want 1", len(rpc))
	}
	fields := rpc[0].ContextMap()
	if fields["code"] != "Internal" || fields["method"] != info.FullMethod {
		t.Errorf("log fields %v", fields)
	}
	if logs.FilterMessage("rpc panicked").Len() != 1 {
		t.Error("the panic was not logged")
	}
}

func TestRecoverStream(t *testing.T) {
	info := &grpc.StreamServerInfo{FullMethod: "/stevedore.v1.ImageService/GetBlob"}
	err := recoverStream(zap.NewNop())(nil, nil, info, func(any, grpc.ServerStream) error { panic("boom") })
	checkStatus(t, err, codes.Internal, "")
}
