package service

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/stevedore-dev/stevedore/engine/oci"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

func TestInspect(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	mdgst := digest.FromBytes(f.manifest).String()
	wantConfig := &stevedorev1.ImageConfig{
		Created: timestamppb.New(mustTime(t, "2024-05-06T07:08:09Z")), Author: "tester",
		Os: "linux", Architecture: "amd64", User: "app", Env: []string{"A=1"},
		Entrypoint: []string{"/bin/app"}, Cmd: []string{"serve"}, WorkingDir: "/srv",
		Labels: map[string]string{"l": "v"}, ExposedPorts: []string{"443/tcp", "8080/tcp"},
	}
	var wantLayers []*stevedorev1.Descriptor
	for _, l := range f.layers {
		wantLayers = append(wantLayers, &stevedorev1.Descriptor{MediaType: oci.MediaTypeLayer, Digest: digest.FromBytes(l).String(), Size: int64(len(l))})
	}
	platforms := []*stevedorev1.Platform{
		{Os: "linux", Architecture: "amd64"},
		{Os: "linux", Architecture: "arm64", Variant: "v8"},
	}
	for _, tc := range []struct {
		name string
		req  *stevedorev1.InspectRequest
		want *stevedorev1.InspectResponse
	}{
		{"manifest by tag", &stevedorev1.InspectRequest{Ref: f.ref(":v1")}, &stevedorev1.InspectResponse{
			Ref: f.ref(":v1"), Digest: mdgst, MediaType: oci.MediaTypeImageManifest, ManifestDigest: mdgst,
			Annotations: map[string]string{"a": "b"}, Config: wantConfig, Layers: wantLayers,
		}},
		{"manifest by digest", &stevedorev1.InspectRequest{Ref: f.ref("@" + mdgst)}, &stevedorev1.InspectResponse{
			Ref: f.ref("@" + mdgst), Digest: mdgst, MediaType: oci.MediaTypeImageManifest, ManifestDigest: mdgst,
			Annotations: map[string]string{"a": "b"}, Config: wantConfig, Layers: wantLayers,
		}},
		{"index with platform", &stevedorev1.InspectRequest{Ref: f.ref(":multi"), Platform: "linux/arm64"}, &stevedorev1.InspectResponse{
			Ref: f.ref(":multi"), Digest: digest.FromBytes(f.index).String(), MediaType: oci.MediaTypeImageIndex,
			Platforms: platforms, ManifestDigest: mdgst,
			Annotations: map[string]string{"a": "b"}, Config: wantConfig, Layers: wantLayers,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Inspect(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Inspect (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetManifest(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	for _, tc := range []struct {
		id, mediaType string
		raw           []byte
	}{
		{":v1", oci.MediaTypeImageManifest, f.manifest},
		{":multi", oci.MediaTypeImageIndex, f.index},
		{"@" + digest.FromBytes(f.manifest).String(), oci.MediaTypeImageManifest, f.manifest},
	} {
		t.Run(tc.id, func(t *testing.T) {
			got, err := c.GetManifest(context.Background(), &stevedorev1.GetManifestRequest{Ref: f.ref(tc.id)})
			if err != nil {
				t.Fatal(err)
			}
			want := &stevedorev1.GetManifestResponse{Digest: digest.FromBytes(tc.raw).String(), MediaType: tc.mediaType, Raw: tc.raw}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("GetManifest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListTags(t *testing.T) {
	f := newFixture(t)
	got, err := newClient(t).ListTags(context.Background(), &stevedorev1.ListTagsRequest{Repository: "oci:" + f.dir})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"multi", "v1"}, got.GetTags()); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

// TestErrors checks the status each RPC returns for bad input: the gRPC code
// and the OCI code in the ErrorInfo detail.
func TestErrors(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	ctx := context.Background()
	missing := digest.FromString("missing").String()
	inspect := func(ref, platform string) error {
		_, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: ref, Platform: platform})
		return err
	}
	manifest := func(ref string) error {
		_, err := c.GetManifest(ctx, &stevedorev1.GetManifestRequest{Ref: ref})
		return err
	}
	tags := func(repo string) error {
		_, err := c.ListTags(ctx, &stevedorev1.ListTagsRequest{Repository: repo})
		return err
	}
	for _, tc := range []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
	}{
		{"empty ref", func() error { return inspect("", "") }, codes.InvalidArgument, "NAME_INVALID"},
		{"malformed ref", func() error { return inspect("UPPER/case:v1", "") }, codes.InvalidArgument, "NAME_INVALID"},
		{"oci without path", func() error { return manifest("oci:") }, codes.InvalidArgument, "NAME_INVALID"},
		{"malformed digest", func() error { return manifest(f.ref("@sha256:nothex")) }, codes.InvalidArgument, "DIGEST_INVALID"},
		{"unknown tag", func() error { return inspect(f.ref(":nope"), "") }, codes.NotFound, "MANIFEST_UNKNOWN"},
		{"unknown manifest digest", func() error { return manifest(f.ref("@" + missing)) }, codes.NotFound, "MANIFEST_UNKNOWN"},
		{"absent platform", func() error { return inspect(f.ref(":multi"), "windows/amd64") }, codes.NotFound, "MANIFEST_UNKNOWN"},
		{"no such layout", func() error { return tags("oci:" + f.dir + "/nope") }, codes.NotFound, "NAME_UNKNOWN"},
		{"no such archive", func() error { return tags("oci-archive:" + f.dir + "/x.tar") }, codes.NotFound, "NAME_UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkStatus(t, tc.call(), tc.code, tc.reason) })
	}
}

// checkStatus fails unless err is a status with code and, when reason is
// set, an ErrorInfo with that reason in the stevedore.dev domain.
func checkStatus(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	var got string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.Domain != ErrorDomain {
				t.Errorf("ErrorInfo domain %q, want %q", info.Domain, ErrorDomain)
			}
			got = info.Reason
		}
	}
	if got != reason {
		t.Errorf("ErrorInfo reason %q, want %q (status %v)", got, reason, st)
	}
}
