package stevedoreclient_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

func dial(t *testing.T, target string) *stevedoreclient.Client {
	t.Helper()
	c, err := stevedoreclient.Dial(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestInspect(t *testing.T) {
	c := dial(t, addr)
	for _, tc := range []struct {
		name, ref, platform string
		digest, manifest    string
		platforms, layers   int
	}{
		{"image", fx.Ref(":v1"), "", fx.Manifest.Digest.String(), fx.Manifest.Digest.String(), 0, 2},
		{"index, server's platform", fx.Ref(":multi"), "linux/amd64", fx.Index.Digest.String(), fx.Manifest.Digest.String(), 2, 2},
		{"index, arm64", fx.Ref(":multi"), "linux/arm64/v8", fx.Index.Digest.String(), fx.Manifest.Digest.String(), 2, 2},
		{"by digest", fx.Ref("@" + fx.Manifest.Digest.String()), "", fx.Manifest.Digest.String(), fx.Manifest.Digest.String(), 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Inspect(context.Background(), tc.ref, tc.platform)
			if err != nil {
				t.Fatal(err)
			}
			if got.GetDigest() != tc.digest || got.GetManifestDigest() != tc.manifest {
				t.Errorf("digest %s manifest %s, want %s and %s", got.GetDigest(), got.GetManifestDigest(), tc.digest, tc.manifest)
			}
			if len(got.GetPlatforms()) != tc.platforms || len(got.GetLayers()) != tc.layers {
				t.Errorf("%d platforms, %d layers; want %d and %d", len(got.GetPlatforms()), len(got.GetLayers()), tc.platforms, tc.layers)
			}
			if got.GetConfig().GetAuthor() != "stevedore fixture" {
				t.Errorf("config author %q", got.GetConfig().GetAuthor())
			}
		})
	}
}

func TestGetManifest(t *testing.T) {
	c := dial(t, addr)
	for _, tc := range []struct {
		name, ref string
		want      oci.Descriptor
	}{
		{"image", fx.Ref(":v1"), fx.Manifest},
		{"index", fx.Ref(":multi"), fx.Index},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.GetManifest(context.Background(), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.GetDigest() != tc.want.Digest.String() || got.GetMediaType() != tc.want.MediaType || int64(len(got.GetRaw())) != tc.want.Size {
				t.Errorf("got %s %s %d bytes, want %s %s %d", got.GetDigest(), got.GetMediaType(), len(got.GetRaw()), tc.want.Digest, tc.want.MediaType, tc.want.Size)
			}
		})
	}
}

func TestListTags(t *testing.T) {
	c := dial(t, addr)
	got, err := c.ListTags(context.Background(), fx.Ref(""))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, fx.Tags) {
		t.Errorf("tags %q, want %q", got, fx.Tags)
	}
}

// TestErrors: every failure arrives as the engine's error class, with the
// OCI code and the gRPC status intact.
func TestErrors(t *testing.T) {
	c := dial(t, addr)
	ctx := context.Background()
	missing := "sha256:" + string(bytes.Repeat([]byte("0"), 64))
	for _, tc := range []struct {
		name   string
		call   func() error
		class  error
		code   codes.Code
		reason string
	}{
		{"unknown tag", func() error { _, err := c.Inspect(ctx, fx.Ref(":nope"), ""); return err }, errdef.ErrNotFound, codes.NotFound, "MANIFEST_UNKNOWN"},
		{"unknown manifest", func() error { _, err := c.GetManifest(ctx, fx.Ref("@"+missing)); return err }, errdef.ErrNotFound, codes.NotFound, "MANIFEST_UNKNOWN"},
		{"no layout", func() error { _, err := c.ListTags(ctx, "oci:"+t.TempDir()+"/none"); return err }, errdef.ErrNotFound, codes.NotFound, "NAME_UNKNOWN"},
		{"absent platform", func() error { _, err := c.Inspect(ctx, fx.Ref(":multi"), "windows/amd64"); return err }, errdef.ErrNotFound, codes.NotFound, "MANIFEST_UNKNOWN"},
		{"malformed ref", func() error { _, err := c.Inspect(ctx, "UPPER/Case:x", ""); return err }, errdef.ErrInvalid, codes.InvalidArgument, "NAME_INVALID"},
		{"unknown blob", func() error { _, err := c.OpenBlob(ctx, fx.Ref("@"+missing)); return err }, errdef.ErrNotFound, codes.NotFound, "BLOB_UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.class) {
				t.Fatalf("error %v does not match %v", err, tc.class)
			}
			if status.Code(err) != tc.code {
				t.Errorf("status code %v, want %v", status.Code(err), tc.code)
			}
			var e *stevedoreclient.Error
			if !errors.As(err, &e) || e.Reason != tc.reason {
				t.Errorf("error %#v, want reason %q", e, tc.reason)
			}
		})
	}
}

func TestFromStatus(t *testing.T) {
	for _, tc := range []struct {
		code   codes.Code
		reason string
		class  error
	}{
		{codes.NotFound, "BLOB_UNKNOWN", errdef.ErrNotFound},
		{codes.InvalidArgument, "", errdef.ErrInvalid},
		{codes.DataLoss, "DIGEST_INVALID", errdef.ErrDigestMismatch},
		{codes.DataLoss, "SIZE_INVALID", errdef.ErrSizeMismatch},
		{codes.FailedPrecondition, "SIZE_INVALID", errdef.ErrTooLarge},
		{codes.Unimplemented, "UNSUPPORTED", errdef.ErrUnsupported},
		{codes.Unauthenticated, "", errdef.ErrUnauthorized},
		{codes.PermissionDenied, "", errdef.ErrDenied},
		{codes.Unavailable, "", errdef.ErrUnavailable},
		{codes.ResourceExhausted, "", errdef.ErrTooManyRequests},
		{codes.ResourceExhausted, "TOOMANYREQUESTS", errdef.ErrTooManyRequests},
		{codes.ResourceExhausted, "INSUFFICIENT_STORAGE", errdef.ErrNoSpace},
		{codes.AlreadyExists, "", errdef.ErrAlreadyExists},
		{codes.Canceled, "", context.Canceled},
		{codes.DeadlineExceeded, "", context.DeadlineExceeded},
	} {
		t.Run(tc.code.String()+"/"+tc.reason, func(t *testing.T) {
			st := status.New(tc.code, "x")
			if tc.reason != "" {
				var err error
				if st, err = st.WithDetails(&errdetails.ErrorInfo{Reason: tc.reason, Domain: "stevedore.dev"}); err != nil {
					t.Fatal(err)
				}
			}
			err := stevedoreclient.FromStatus(st.Err())
			if !errors.Is(err, tc.class) {
				t.Errorf("%v does not match %v", err, tc.class)
			}
		})
	}
	t.Run("unclassified", func(t *testing.T) {
		err := stevedoreclient.FromStatus(status.Error(codes.Internal, "boom"))
		for _, class := range []error{errdef.ErrNotFound, errdef.ErrInvalid, errdef.ErrUnavailable} {
			if errors.Is(err, class) {
				t.Errorf("Internal matches %v", class)
			}
		}
		if status.Code(err) != codes.Internal {
			t.Errorf("code %v", status.Code(err))
		}
	})
	t.Run("not a status", func(t *testing.T) {
		plain := errors.New("plain")
		if got := stevedoreclient.FromStatus(plain); got != plain {
			t.Errorf("got %v", got)
		}
		if stevedoreclient.FromStatus(nil) != nil {
			t.Error("FromStatus(nil) != nil")
		}
	})
}
