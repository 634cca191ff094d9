package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

const samplePassword = "stevedore-test-pw"

// sample reads a file of testdata/ (cosign v3.1.3's own artefacts).
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samplePub is cosign.pub, the key that made every sample signature.
func samplePub(t testing.TB) crypto.PublicKey {
	t.Helper()
	k, err := ParsePublicKey(sample(t, "keys/cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	sampleKeyOnce sync.Once
	sampleKey     *ecdsa.PrivateKey
	sampleKeyErr  error
)

// samplePriv decrypts cosign.key once (scrypt is deliberately slow).
func samplePriv(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	sampleKeyOnce.Do(func() {
		b, err := os.ReadFile("testdata/keys/cosign.key")
		if err != nil {
			sampleKeyErr = err
			return
		}
		sampleKey, sampleKeyErr = DecryptPrivateKey(b, []byte(samplePassword))
	})
	if sampleKeyErr != nil {
		t.Fatal(sampleKeyErr)
	}
	return sampleKey
}

// lay is a layout under test with the sample image tagged v1.
type lay struct {
	fs    *store.FS
	l     *layout.Layout
	image oci.Descriptor
}

func newLay(t testing.TB) *lay {
	t.Helper()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "oci"))
	if err != nil {
		t.Fatal(err)
	}
	x := &lay{fs: fs, l: layout.New(fs)}
	x.put(t, oci.MediaTypeDockerConfig, sample(t, "target-image/config.json"))
	x.image = x.put(t, oci.MediaTypeDockerManifest, sample(t, "target-image/manifest.json"))
	if err := fs.Tag(context.Background(), x.image, "v1"); err != nil {
		t.Fatal(err)
	}
	return x
}

// put stores raw in the layout.
func (x *lay) put(t testing.TB, mt string, raw []byte) oci.Descriptor {
	t.Helper()
	d := blobDesc(mt, raw)
	if err := x.fs.Put(context.Background(), d, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return d
}

// root stores a manifest and lists it in index.json, where referrers are found.
func (x *lay) root(t testing.TB, raw []byte) oci.Descriptor {
	t.Helper()
	d := x.put(t, oci.MediaTypeImageManifest, raw)
	if err := x.fs.AddRoot(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// tag stores a manifest under tag.
func (x *lay) tag(t testing.TB, raw []byte, tag string) oci.Descriptor {
	t.Helper()
	d := x.put(t, oci.MediaTypeImageManifest, raw)
	if err := x.fs.Tag(context.Background(), d, tag); err != nil {
		t.Fatal(err)
	}
	return d
}

// addCosignSamples stores every signature and attestation cosign made of
// the sample image, in both formats.
func (x *lay) addCosignSamples(t testing.TB) {
	t.Helper()
	x.put(t, oci.MediaTypeEmptyJSON, emptyJSON)
	for _, dir := range []string{"bundle-sign", "bundle-attest"} {
		x.put(t, MediaTypeBundle, sample(t, dir+"/bundle.sigstore.json"))
		x.root(t, sample(t, dir+"/bundle-manifest.json"))
	}
	x.put(t, oci.MediaTypeImageConfig, sample(t, "legacy-sign/sig-config.json"))
	x.put(t, MediaTypeSimpleSigning, sample(t, "legacy-sign/simplesigning-payload.json"))
	x.tag(t, sample(t, "legacy-sign/sig-manifest.json"), LegacyTag(x.image, ".sig"))
	x.put(t, oci.MediaTypeImageConfig, sample(t, "legacy-attest/att-config.json"))
	x.put(t, MediaTypeDSSE, sample(t, "legacy-attest/dsse-envelope.json"))
	x.tag(t, sample(t, "legacy-attest/att-manifest.json"), LegacyTag(x.image, ".att"))
}

// endpoint is a place signatures are written and read back.
type endpoint struct {
	name string
	new  func(t *testing.T) (Repo, oci.Descriptor)
}

// endpoints: an OCI layout, our registry (referrers API) and our registry
// with the referrers API hidden, as on CNCF distribution (tag schema).
var endpoints = []endpoint{
	{"layout", func(t *testing.T) (Repo, oci.Descriptor) { x := newLay(t); return x.l, x.image }},
	{"registry", func(t *testing.T) (Repo, oci.Descriptor) { return newRegistry(t, false) }},
	{"registry without referrers API", func(t *testing.T) (Repo, oci.Descriptor) { return newRegistry(t, true) }},
}

// NewTestRegistry returns a registry server over dir. It is set by
// registry_ext_test.go: registryhttp imports this package (for pull
// policies), so only the external test package may import registryhttp.
var NewTestRegistry func(dir string) (http.Handler, error)

// newRegistry serves a fresh registryhttp on httptest and pushes the
// sample image as sign/test:v1.
func newRegistry(t *testing.T, hideReferrers bool) (Repo, oci.Descriptor) {
	t.Helper()
	reg, err := NewTestRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := reg
	if hideReferrers {
		h = noReferrers(reg)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := registry.New(strings.TrimPrefix(srv.URL, "http://"), "sign/test", registry.Options{})
	return r, pushImage(t, r, "v1", "layer")
}

// pushImage pushes a one-layer image whose layer holds content, tagged tag.
func pushImage(t *testing.T, r Repo, tag, content string) oci.Descriptor {
	t.Helper()
	ctx := context.Background()
	push := func(mt string, raw []byte) oci.Descriptor {
		d := blobDesc(mt, raw)
		if err := put(ctx, r, d, raw); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := push(oci.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	layer := push(oci.MediaTypeLayer, []byte(content))
	m, err := marshalCompact(&wireManifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageManifest, Config: toWire(cfg), Layers: []wireDesc{toWire(layer)}})
	if err != nil {
		t.Fatal(err)
	}
	img := push(oci.MediaTypeImageManifest, m)
	if err := r.Tag(ctx, img, tag); err != nil {
		t.Fatal(err)
	}
	return img
}

// noReferrers hides the referrers API, as CNCF distribution has none: 404
// on /referrers/ and no OCI-Subject header on manifest PUTs.
func noReferrers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/referrers/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(&stripSubject{ResponseWriter: w}, r)
	})
}

type stripSubject struct {
	http.ResponseWriter
	wrote bool
}

func (s *stripSubject) WriteHeader(code int) {
	if !s.wrote {
		s.Header().Del("OCI-Subject")
		s.wrote = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *stripSubject) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

var _ transport.ReferrerLister = (*registry.Repository)(nil)
