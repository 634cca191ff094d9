package registryhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// TestPullPolicy serves a data directory behind a trust policy protecting
// reg.test/prot/**: manifest GETs of unsigned images there are refused
// with 403 DENIED, whatever the path's spelling; everything else passes.
func TestPullPolicy(t *testing.T) {
	ctx := context.Background()
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signedM, _ := policyImage(t, root, "prot/signed", "a")
	unsignedM, unsignedL := policyImage(t, root, "prot/unsigned", "b")
	policyImage(t, root, "open/x", "c")

	keyDir := t.TempDir()
	kp, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keyDir, "signer.pub"), kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	// The legacy format keeps its signature under a tag, which needs no
	// referrers record: signing straight into the repository's layout works.
	fs, err := root.Repo(ctx, "prot/signed")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := sign.Sign(ctx, layout.New(fs), "v1", kp.Key, sign.SignOptions{Format: sign.FormatLegacy})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(`
unmatched: accept
repositories:
  - pattern: reg.test/prot/**
    keys: [signer.pub]
`), keyDir, policy.Verifiers{})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewBackend(root.Backend(), nil, Options{})
	srv := httptest.NewServer(NewPullPolicy(reg, reg, pol, "reg.test"))
	defer srv.Close()

	tests := []struct {
		name, method, path string
		want               int
	}{
		{"signed by tag", "GET", "/v2/prot/signed/manifests/v1", 200},
		{"signed by digest", "GET", "/v2/prot/signed/manifests/" + signedM.String(), 200},
		{"unsigned by tag", "GET", "/v2/prot/unsigned/manifests/v1", 403},
		{"unsigned by digest", "GET", "/v2/prot/unsigned/manifests/" + unsignedM.String(), 403},
		{"unsigned, encoded slash", "GET", "/v2/prot%2Funsigned/manifests/v1", 403},
		{"unsigned HEAD", "HEAD", "/v2/prot/unsigned/manifests/v1", 200},
		{"unsigned blob", "GET", "/v2/prot/unsigned/blobs/" + unsignedL.String(), 200},
		{"unsigned tags", "GET", "/v2/prot/unsigned/tags/list", 200},
		{"unknown tag answers 404", "GET", "/v2/prot/unsigned/manifests/nope", 404},
		{"unknown repository answers 404", "GET", "/v2/prot/none/manifests/v1", 404},
		{"bad name answers 400", "GET", "/v2/prot/UPPER/manifests/v1", 400},
		{"signature tag readable", "GET", "/v2/prot/signed/manifests/" + signed[0].Tag, 200},
		{"unprotected", "GET", "/v2/open/x/manifests/v1", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
			if tt.want != http.StatusForbidden {
				return
			}
			var body struct {
				Errors []struct{ Code string } `json:"errors"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Errors) != 1 || body.Errors[0].Code != "DENIED" {
				t.Errorf("403 body: %+v (%v), want one DENIED error", body, err)
			}
		})
	}
}

// policyImage stores a one-layer image tagged v1 in repository name and
// returns its manifest and layer digests.
func policyImage(t *testing.T, root *served.Root, name, content string) (digest.Digest, digest.Digest) {
	t.Helper()
	ctx := context.Background()
	fs, err := root.CreateRepo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	put := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := root.Put(ctx, fs, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	desc := func(d oci.Descriptor) string {
		return `{"mediaType":"` + d.MediaType + `","digest":"` + d.Digest.String() + `","size":` + strconv.FormatInt(d.Size, 10) + `}`
	}
	cfg := put(oci.MediaTypeImageConfig, []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`))
	l := put(oci.MediaTypeLayer, []byte(content))
	m := put(oci.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"mediaType":"`+oci.MediaTypeImageManifest+`","config":`+desc(cfg)+`,"layers":[`+desc(l)+`]}`))
	if err := fs.Tag(ctx, m, "v1"); err != nil {
		t.Fatal(err)
	}
	return m.Digest, l.Digest
}
