package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// runCopy drains a Copy stream.
func runCopy(t *testing.T, c stevedorev1.ImageServiceClient, req *stevedorev1.CopyRequest) ([]*stevedorev1.CopyResponse, error) {
	t.Helper()
	stream, err := c.Copy(context.Background(), req)
	if err != nil {
		return nil, err
	}
	var out []*stevedorev1.CopyResponse
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, msg)
	}
}

func TestCopy(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	index, manifest := digest.FromBytes(f.index).String(), digest.FromBytes(f.manifest).String()
	for _, tc := range []struct {
		name, src, platform string
		want                string
		blobs               int32
	}{
		{"image", f.ref(":v1"), "", manifest, 3},
		{"index", f.ref(":multi"), "", index, 3},
		{"one platform", f.ref(":multi"), "linux/arm64", manifest, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := "oci:" + filepath.Join(t.TempDir(), "out") + ":copied"
			events, err := runCopy(t, c, &stevedorev1.CopyRequest{Source: tc.src, Destination: dst, Platform: tc.platform})
			if err != nil {
				t.Fatal(err)
			}
			last := events[len(events)-1]
			res := last.GetResult()
			if last.GetKind() != stevedorev1.CopyEventKind_COPY_EVENT_KIND_RESULT || res.GetDigest() != tc.want ||
				res.GetBlobsCopied() != tc.blobs || res.GetDestination() != dst || res.GetBytes() == 0 {
				t.Fatalf("last event %v, want a result for %s with %d blobs", last, tc.want, tc.blobs)
			}
			kinds := map[stevedorev1.CopyEventKind]int{}
			for _, e := range events[:len(events)-1] {
				kinds[e.GetKind()]++
				if e.GetResult() != nil || e.GetDescriptor_().GetDigest() == "" {
					t.Errorf("progress event %v", e)
				}
			}
			if kinds[stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_DONE] != int(tc.blobs) ||
				kinds[stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_STARTED] != int(tc.blobs) ||
				kinds[stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_BYTES] < 2 {
				t.Errorf("event counts %v", kinds)
			}
			m, err := c.GetManifest(context.Background(), &stevedorev1.GetManifestRequest{Ref: dst})
			if err != nil || m.GetDigest() != tc.want {
				t.Errorf("destination reads back %v, %v", m.GetDigest(), err)
			}
		})
	}
}

func TestCopyErrors(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	out := "oci:" + filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		name   string
		req    *stevedorev1.CopyRequest
		code   codes.Code
		reason string
		origin string
	}{
		{"bad source", &stevedorev1.CopyRequest{Source: "Bad/Ref", Destination: out}, codes.InvalidArgument, "NAME_INVALID", ""},
		{"bad destination", &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: "oci:"}, codes.InvalidArgument, "NAME_INVALID", ""},
		{"no destination", &stevedorev1.CopyRequest{Source: f.ref(":v1")}, codes.InvalidArgument, "NAME_INVALID", ""},
		{"digest destination", &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: out + "@" + digest.FromBytes(f.manifest).String()}, codes.InvalidArgument, "", ""},
		{"concurrency", &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: out, Concurrency: 1000}, codes.InvalidArgument, "", ""},
		{"unknown tag", &stevedorev1.CopyRequest{Source: f.ref(":nope"), Destination: out}, codes.NotFound, "MANIFEST_UNKNOWN", "source"},
		{"absent platform", &stevedorev1.CopyRequest{Source: f.ref(":multi"), Destination: out, Platform: "linux/s390x"}, codes.NotFound, "MANIFEST_UNKNOWN", "source"},
		{"bad tag", &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: out + ":bad%tag"}, codes.InvalidArgument, "MANIFEST_INVALID", "destination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCopy(t, c, tc.req)
			checkStatus(t, err, tc.code, tc.reason)
			if got := origin(err); got != tc.origin {
				t.Errorf("origin %q, want %q", got, tc.origin)
			}
			// A reference the request got wrong is named by its field
			// (a missing destination used to say `invalid reference "": empty`).
			if tc.reason == "NAME_INVALID" {
				field := "source"
				if tc.req.GetSource() == f.ref(":v1") {
					field = "destination"
				}
				if msg := status.Convert(err).Message(); !strings.HasPrefix(msg, field) {
					t.Errorf("message %q does not name the field %s", msg, field)
				}
			}
		})
	}
}

// TestCopyCorrupt: a source blob whose bytes do not match its digest fails
// the copy with DataLoss from the source, and nothing is tagged.
func TestCopyCorrupt(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	d := digest.FromBytes(f.layers[1])
	bad := bytes.Clone(f.layers[1])
	bad[0]++
	if err := os.WriteFile(filepath.Join(f.dir, "blobs", d.Algorithm().String(), d.Encoded()), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	out := "oci:" + filepath.Join(t.TempDir(), "out") + ":v1"
	_, err := runCopy(t, c, &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: out})
	checkStatus(t, err, codes.DataLoss, "DIGEST_INVALID")
	if got := origin(err); got != "source" {
		t.Errorf("origin %q, want source", got)
	}
	_, err = c.Inspect(context.Background(), &stevedorev1.InspectRequest{Ref: out})
	checkStatus(t, err, codes.NotFound, "MANIFEST_UNKNOWN")
}

// origin returns the ErrorInfo metadata "origin" of a status error.
func origin(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()["origin"]
		}
	}
	return ""
}

// TestCopyREST: POST /v1/copy answers NDJSON events, the last the result.
func TestCopyREST(t *testing.T) {
	f := newFixture(t)
	srv := startGateway(t)
	dst := "oci:" + filepath.Join(t.TempDir(), "out") + ":v1"
	body, _ := json.Marshal(map[string]any{"source": f.ref(":multi"), "destination": dst, "concurrency": 2})
	resp, err := http.Post(srv.URL+"/v1/copy", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /v1/copy: %s: %s", resp.Status, b)
	}
	var last struct {
		Result struct {
			Kind   string
			Result struct {
				Digest      string
				BlobsCopied int
			}
		}
		Error any
	}
	sc := bufio.NewScanner(resp.Body)
	lines := 0
	for sc.Scan() {
		last.Result.Kind = ""
		mustUnmarshal(t, sc.Bytes(), &last)
		lines++
	}
	if last.Error != nil || last.Result.Kind != "COPY_EVENT_KIND_RESULT" || last.Result.Result.Digest != digest.FromBytes(f.index).String() || last.Result.Result.BlobsCopied != 3 || lines < 5 {
		t.Errorf("%d lines, last %+v", lines, last)
	}
}
