package service

import (
	"testing"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

func TestWithVersionHeader(t *testing.T) {
	const v = "v1.2.3 (commit 0123456789ab, go1.26.8 linux/amd64)"
	conn := startServerWith(t, WithVersionHeader(v)...)

	var unary metadata.MD
	if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}, grpc.Header(&unary)); err != nil {
		t.Fatal(err)
	}
	if got := unary.Get(VersionHeader); len(got) != 1 || got[0] != v {
		t.Errorf("health Check header %s = %q, want %q", VersionHeader, got, v)
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	streamed, err := stream.Header()
	if err != nil {
		t.Fatal(err)
	}
	if got := streamed.Get(VersionHeader); len(got) != 1 || got[0] != v {
		t.Errorf("reflection stream header %s = %q, want %q", VersionHeader, got, v)
	}
	_ = stream.CloseSend()
}
