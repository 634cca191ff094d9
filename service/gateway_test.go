package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/service/version"
)

// startGateway serves the REST gateway on httptest, forwarding over a
// bufconn to a real gRPC server.
func startGateway(t *testing.T) *httptest.Server {
	t.Helper()
	_, dialer := startServer(t)
	gw, err := NewGateway(context.Background(), bufTarget, dialer)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() {
		srv.Close()
		gw.Close()
	})
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string, query url.Values) (int, []byte) {
	t.Helper()
	u := srv.URL + path
	if query != nil {
		u += "?" + query.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestGateway checks status codes and bodies of the REST routes: references
// with '/', ':' and '@' travel in the query string.
func TestGateway(t *testing.T) {
	f := newFixture(t)
	srv := startGateway(t)
	mdgst := digest.FromBytes(f.manifest).String()
	for _, tc := range []struct {
		name   string
		path   string
		query  url.Values
		status int
		check  func(t *testing.T, body []byte)
	}{
		{"inspect", "/v1/images:inspect", url.Values{"ref": {f.ref(":v1")}}, 200, func(t *testing.T, body []byte) {
			var got struct {
				Digest, ManifestDigest string
				Layers                 []struct{ Size string }
			}
			mustUnmarshal(t, body, &got)
			if got.Digest != mdgst || got.ManifestDigest != mdgst || len(got.Layers) != 2 || got.Layers[1].Size != strconv.Itoa(len(f.layers[1])) {
				t.Errorf("inspect body %s", body)
			}
		}},
		{"inspect platform", "/v1/images:inspect", url.Values{"ref": {f.ref(":multi")}, "platform": {"linux/arm64/v8"}}, 200, func(t *testing.T, body []byte) {
			var got struct{ ManifestDigest string }
			mustUnmarshal(t, body, &got)
			if got.ManifestDigest != mdgst {
				t.Errorf("inspect body %s", body)
			}
		}},
		{"malformed ref", "/v1/images:inspect", url.Values{"ref": {"Bad/Ref:v1"}}, 400, wantReason("NAME_INVALID")},
		{"missing ref", "/v1/images:inspect", nil, 400, wantReason("NAME_INVALID")},
		{"unknown tag", "/v1/images:inspect", url.Values{"ref": {f.ref(":nope")}}, 404, wantReason("MANIFEST_UNKNOWN")},
		{"manifest", "/v1/manifests", url.Values{"ref": {f.ref("@" + mdgst)}}, 200, func(t *testing.T, body []byte) {
			var got struct{ Digest, MediaType, Raw string }
			mustUnmarshal(t, body, &got)
			if raw, _ := base64.StdEncoding.DecodeString(got.Raw); got.Digest != mdgst || !bytes.Equal(raw, f.manifest) {
				t.Errorf("manifest body %s", body)
			}
		}},
		{"manifest unknown", "/v1/manifests", url.Values{"ref": {f.ref(":nope")}}, 404, wantReason("MANIFEST_UNKNOWN")},
		{"tags", "/v1/tags", url.Values{"repository": {"oci:" + f.dir}}, 200, func(t *testing.T, body []byte) {
			var got struct{ Tags []string }
			mustUnmarshal(t, body, &got)
			if strings.Join(got.Tags, ",") != "multi,v1" {
				t.Errorf("tags body %s", body)
			}
		}},
		{"blob range", "/v1/blobs", url.Values{"ref": {f.ref("@" + digest.FromBytes(f.layers[1]).String())}, "offset": {"10"}, "length": {"20"}}, 200, func(t *testing.T, body []byte) {
			sc := bufio.NewScanner(bytes.NewReader(body))
			var lines int
			for sc.Scan() {
				var got struct {
					Result struct{ Offset, Size, Data string }
				}
				mustUnmarshal(t, sc.Bytes(), &got)
				data, _ := base64.StdEncoding.DecodeString(got.Result.Data)
				if got.Result.Offset != "10" || got.Result.Size != strconv.Itoa(len(f.layers[1])) || !bytes.Equal(data, f.layers[1][10:30]) {
					t.Errorf("blob line %s", sc.Bytes())
				}
				lines++
			}
			if lines != 1 {
				t.Errorf("%d lines, want 1: %s", lines, body)
			}
		}},
		{"blob without digest", "/v1/blobs", url.Values{"ref": {f.ref(":v1")}}, 400, wantReason("DIGEST_INVALID")},
		{"openapi", "/openapi.json", nil, 200, func(t *testing.T, body []byte) {
			var doc struct {
				Swagger string
				Info    struct{ Version string }
				Paths   map[string]any
			}
			mustUnmarshal(t, body, &doc)
			if doc.Swagger != "2.0" || doc.Paths["/v1/images:inspect"] == nil {
				t.Errorf("openapi document %.200s", body)
			}
			if v := version.Get().Version; doc.Info.Version != v {
				t.Errorf("info.version %q, want the build's %q", doc.Info.Version, v)
			}
		}},
		{"healthz", "/healthz", nil, 200, func(t *testing.T, body []byte) {
			if string(body) != "ok\n" {
				t.Errorf("healthz body %q", body)
			}
		}},
		{"unknown route", "/v1/nope", nil, 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, srv, tc.path, tc.query)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

// gatewayError is the gateway's JSON form of a status.
type gatewayError struct {
	Code    int
	Details []struct {
		Type   string `json:"@type"`
		Reason string
		Domain string
	}
}

// wantReason checks a gateway error body for the OCI code in its ErrorInfo.
// Streaming routes wrap the status in {"error": ...}.
func wantReason(reason string) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		var got struct {
			gatewayError
			Error *gatewayError
		}
		mustUnmarshal(t, body, &got)
		if got.Error != nil {
			got.gatewayError = *got.Error
		}
		for _, d := range got.Details {
			if d.Type == "type.googleapis.com/google.rpc.ErrorInfo" && d.Reason == reason && d.Domain == ErrorDomain {
				return
			}
		}
		t.Errorf("no ErrorInfo with reason %s in %s", reason, body)
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}
