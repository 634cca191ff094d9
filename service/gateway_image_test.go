package service

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stevedore-dev/stevedore/engine"
)

// TestGatewayAnalyzeMutate checks two of the newer REST routes end to end:
// a server-streaming GET (ListFiles, newline-delimited JSON) and a POST
// with a JSON body (Mutate).
func TestGatewayAnalyzeMutate(t *testing.T) {
	f := newImageFixture(t)
	srv := startGateway(t)

	t.Run("list files", func(t *testing.T) {
		status, body := get(t, srv, "/v1/images:files", url.Values{"ref": {f.ref(":app")}, "layer": {"1"}})
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		var got []string
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var line struct {
				Result struct {
					Files []struct{ Path, Type string }
				}
			}
			mustUnmarshal(t, sc.Bytes(), &line)
			for _, fi := range line.Result.Files {
				got = append(got, fi.Type+" "+fi.Path)
			}
		}
		if want := []string{"file etc/os-release", "file new.txt", "whiteout tmp/gone"}; !slices.Equal(got, want) {
			t.Errorf("files %q, want %q (body %s)", got, want, body)
		}
	})

	t.Run("list files unknown", func(t *testing.T) {
		status, body := get(t, srv, "/v1/images:files", url.Values{"ref": {f.ref(":nope")}})
		// A streaming route has sent its 200 before the first message; the
		// failure arrives as an {"error": ...} line.
		if status != http.StatusOK && status != http.StatusNotFound {
			t.Fatalf("status %d: %s", status, body)
		}
		wantReason("MANIFEST_UNKNOWN")(t, body)
	})

	for _, tc := range []struct {
		name   string
		body   string
		status int
		check  func(t *testing.T, body []byte)
	}{
		{"mutate", `{"ref":"` + f.ref(":app") + `","destination":"` + f.ref(":rest") + `","env":["MODE=rest"],"user":"nobody","cmd":{"values":[]}}`,
			http.StatusOK, func(t *testing.T, body []byte) {
				var got struct {
					Result struct{ Digest, Tag, SourceDigest, Destination string }
				}
				mustUnmarshal(t, body, &got)
				if got.Result.Tag != "rest" || !strings.HasPrefix(got.Result.Digest, "sha256:") || got.Result.Digest == got.Result.SourceDigest {
					t.Errorf("body %s", body)
				}
			}},
		{"mutate without edits", `{"ref":"` + f.ref(":app") + `"}`, http.StatusBadRequest, nil},
		{"mutate unknown", `{"ref":"` + f.ref(":nope") + `","env":["A=1"]}`, http.StatusNotFound, wantReason("MANIFEST_UNKNOWN")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/v1/images:mutate", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

// TestInspectOneJSON: REST's inspect body and MarshalJSON of the same
// result (what `stevedore inspect` prints) are the same JSON, field for
// field, with sizes as strings (proto3 JSON).
func TestInspectOneJSON(t *testing.T) {
	f := newImageFixture(t)
	srv := startGateway(t)
	status, body := get(t, srv, "/v1/images:inspect", url.Values{"ref": {f.ref(":app")}})
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	ref, err := parseRef(f.ref(":app"), false)
	if err != nil {
		t.Fatal(err)
	}
	info, err := engine.New(engine.Options{}).Inspect(context.Background(), ref, engine.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := MarshalJSON(InspectResponse(info))
	if err != nil {
		t.Fatal(err)
	}
	var fromREST, fromCLI map[string]any
	mustUnmarshal(t, body, &fromREST)
	mustUnmarshal(t, cli, &fromCLI)
	if diff := cmp.Diff(fromREST, fromCLI); diff != "" {
		t.Errorf("REST and CLI JSON differ (-rest +cli):\n%s", diff)
	}
	layers, _ := fromCLI["layers"].([]any)
	if len(layers) == 0 {
		t.Fatalf("no layers in %s", cli)
	}
	if _, ok := layers[0].(map[string]any)["size"].(string); !ok {
		t.Errorf("layer size is not a string: %s", cli)
	}
}
