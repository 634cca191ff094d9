package registryhttp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/registryhttp"
)

type server struct {
	t    *testing.T
	url  string
	data string
}

func newServer(t *testing.T, data string) *server {
	t.Helper()
	if data == "" {
		data = t.TempDir()
	}
	reg, err := registryhttp.New(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(reg)
	t.Cleanup(ts.Close)
	return &server{t: t, url: ts.URL, data: data}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// code returns the first OCI error code of an error envelope.
func (r resp) code() string {
	var env struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal(r.body, &env) != nil || len(env.Errors) == 0 {
		return ""
	}
	return env.Errors[0].Code
}

func (s *server) do(method, path string, body []byte, header ...string) resp {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func (s *server) mustStatus(r resp, want int) resp {
	s.t.Helper()
	if r.status != want {
		s.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// pushBlob uploads b monolithically to repo.
func (s *server) pushBlob(repo string, b []byte) digest.Digest {
	s.t.Helper()
	d := digest.FromBytes(b)
	s.mustStatus(s.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), b), http.StatusCreated)
	return d
}

// pushImage pushes a config and one layer and returns the manifest bytes.
func (s *server) pushImage(repo, ref string, subject *digest.Digest, artifactType string) ([]byte, digest.Digest) {
	s.t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := []byte("layer of " + repo + ref)
	cd, ld := s.pushBlob(repo, cfg), s.pushBlob(repo, layer)
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}},
	}
	if subject != nil {
		m["subject"] = map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": *subject, "size": 1}
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	raw, _ := json.Marshal(m)
	if ref == "" {
		ref = digest.FromBytes(raw).String()
	}
	r := s.mustStatus(s.do("PUT", "/v2/"+repo+"/manifests/"+ref, raw, "Content-Type", "application/vnd.oci.image.manifest.v1+json"), http.StatusCreated)
	d := digest.FromBytes(raw)
	if r.header.Get("Docker-Content-Digest") != d.String() {
		s.t.Fatalf("Docker-Content-Digest = %q, want %s", r.header.Get("Docker-Content-Digest"), d)
	}
	return raw, d
}

// Every malformed request gets the spec's status and code, never a 5xx.
func TestBadInput(t *testing.T) {
	s := newServer(t, "")
	img, imgD := s.pushImage("good/repo", "v1", nil, "")
	bad := digest.FromString("nope")
	up := s.mustStatus(s.do("POST", "/v2/good/repo/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")
	ct := []string{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}
	tests := []struct {
		name, method, path string
		body               []byte
		header             []string
		status             int
		code               string
	}{
		{"uppercase name", "GET", "/v2/Good/repo/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"dotdot name", "GET", "/v2/../etc/manifests/latest", nil, nil, 400, "NAME_INVALID"},
		{"encoded dotdot", "GET", "/v2/good/%2e%2e/manifests/latest", nil, nil, 400, "NAME_INVALID"},
		{"dot component", "GET", "/v2/good/./repo/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"empty component", "GET", "/v2/good//repo/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"leading separator", "GET", "/v2/-good/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"trailing separator", "GET", "/v2/good-/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"underscore leaf", "GET", "/v2/good/repo/_oci/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"name too long", "GET", "/v2/" + strings.Repeat("a", 256) + "/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"no name", "GET", "/v2/manifests/latest", nil, nil, 404, ""},
		{"unknown repo tags", "GET", "/v2/no/such/tags/list", nil, nil, 404, "NAME_UNKNOWN"},
		{"unknown repo manifest", "GET", "/v2/no/such/manifests/latest", nil, nil, 404, "NAME_UNKNOWN"},
		{"unknown repo blob", "GET", "/v2/no/such/blobs/" + bad.String(), nil, nil, 404, "NAME_UNKNOWN"},
		{"unknown tag", "GET", "/v2/good/repo/manifests/nope", nil, nil, 404, "MANIFEST_UNKNOWN"},
		{"unknown manifest digest", "GET", "/v2/good/repo/manifests/" + bad.String(), nil, nil, 404, "MANIFEST_UNKNOWN"},
		{"bad tag chars", "GET", "/v2/good/repo/manifests/-x", nil, nil, 404, "MANIFEST_UNKNOWN"},
		{"blob as manifest", "GET", "/v2/good/repo/manifests/" + digest.FromString("layer of good/repov1").String(), nil, nil, 404, "MANIFEST_UNKNOWN"},
		{"malformed manifest digest", "GET", "/v2/good/repo/manifests/sha256:xyz", nil, nil, 400, "DIGEST_INVALID"},
		{"unknown algorithm", "GET", "/v2/good/repo/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", nil, nil, 400, "DIGEST_INVALID"},
		{"digest traversal", "GET", "/v2/good/repo/blobs/sha256:..%2F..%2Findex.json", nil, nil, 404, ""},
		{"digest dots", "GET", "/v2/good/repo/blobs/sha256:..", nil, nil, 400, "DIGEST_INVALID"},
		{"unknown blob", "GET", "/v2/good/repo/blobs/" + bad.String(), nil, nil, 404, "BLOB_UNKNOWN"},
		{"delete unknown blob", "DELETE", "/v2/good/repo/blobs/" + bad.String(), nil, nil, 404, "BLOB_UNKNOWN"},
		{"delete unknown manifest", "DELETE", "/v2/good/repo/manifests/" + bad.String(), nil, nil, 404, "MANIFEST_UNKNOWN"},
		{"delete unknown tag", "DELETE", "/v2/good/repo/manifests/nope", nil, nil, 404, "MANIFEST_UNKNOWN"},
		{"blob POST method", "POST", "/v2/good/repo/blobs/" + bad.String(), nil, nil, 405, "UNSUPPORTED"},
		{"tags PUT", "PUT", "/v2/good/repo/tags/list", nil, nil, 405, "UNSUPPORTED"},
		{"ping POST", "POST", "/v2/", nil, nil, 405, "UNSUPPORTED"},
		{"not v2", "GET", "/v1/foo", nil, nil, 404, ""},
		{"pagination n", "GET", "/v2/good/repo/tags/list?n=-1", nil, nil, 400, ""},
		{"pagination n text", "GET", "/v2/good/repo/tags/list?n=x", nil, nil, 400, ""},
		{"catalog n text", "GET", "/v2/_catalog?n=1e3", nil, nil, 400, ""},
		{"manifest no content type", "PUT", "/v2/good/repo/manifests/x", img, nil, 400, "MANIFEST_INVALID"},
		{"manifest json content type", "PUT", "/v2/good/repo/manifests/x", img, []string{"Content-Type", "application/json"}, 400, "MANIFEST_INVALID"},
		{"manifest docker content type", "PUT", "/v2/good/repo/manifests/x", img, []string{"Content-Type", "application/vnd.docker.distribution.manifest.v2+json"}, 400, "MANIFEST_INVALID"},
		{"post bad digest", "POST", "/v2/good/repo/blobs/uploads/?digest=sha256:zz", []byte("x"), nil, 400, "DIGEST_INVALID"},
		{"post wrong digest", "POST", "/v2/good/repo/blobs/uploads/?digest=" + bad.String(), []byte("x"), nil, 400, "DIGEST_INVALID"},
		{"post bad name", "POST", "/v2/BAD/blobs/uploads/", nil, nil, 400, "NAME_INVALID"},
		{"upload unknown id", "GET", "/v2/good/repo/blobs/uploads/0d3b0b7e-1c1d-4f5e-9a1b-2c3d4e5f6a7b", nil, nil, 404, "BLOB_UPLOAD_UNKNOWN"},
		{"upload id traversal", "PATCH", "/v2/good/repo/blobs/uploads/..", []byte("x"), nil, 404, "BLOB_UPLOAD_UNKNOWN"},
		{"upload id junk", "PUT", "/v2/good/repo/blobs/uploads/abc?digest=" + bad.String(), nil, nil, 404, "BLOB_UPLOAD_UNKNOWN"},
		{"upload of other repo", "GET", strings.Replace(up, "good/repo", "good/other", 1), nil, nil, 404, "BLOB_UPLOAD_UNKNOWN"},
		{"put upload no digest", "PUT", up, nil, nil, 400, "DIGEST_INVALID"},
		{"put upload wrong digest", "PUT", up + "?digest=" + bad.String(), []byte("abc"), nil, 400, "DIGEST_INVALID"},
		{"patch out of order", "PATCH", up, []byte("abc"), []string{"Content-Range", "10-12"}, 416, "BLOB_UPLOAD_INVALID"},
		{"patch bad range", "PATCH", up, []byte("abc"), []string{"Content-Range", "5-1"}, 416, "BLOB_UPLOAD_INVALID"},
		{"patch range text", "PATCH", up, []byte("abc"), []string{"Content-Range", "a-b"}, 416, "BLOB_UPLOAD_INVALID"},
		{"patch range length", "PATCH", up, []byte("abc"), []string{"Content-Range", "3-9"}, 416, "BLOB_UPLOAD_INVALID"},
		{"manifest not json", "PUT", "/v2/good/repo/manifests/x", []byte("{"), ct, 400, "MANIFEST_INVALID"},
		{"manifest json array", "PUT", "/v2/good/repo/manifests/x", []byte("[]"), ct, 400, "MANIFEST_INVALID"},
		{"manifest unknown type", "PUT", "/v2/good/repo/manifests/x", []byte(`{"schemaVersion":2,"mediaType":"text/plain"}`), []string{"Content-Type", "text/plain"}, 400, "MANIFEST_INVALID"},
		{"manifest type mismatch", "PUT", "/v2/good/repo/manifests/x", img, []string{"Content-Type", "application/vnd.oci.image.index.v1+json"}, 400, "MANIFEST_INVALID"},
		{"manifest schema1", "PUT", "/v2/good/repo/manifests/x", []byte(`{"schemaVersion":1,"fsLayers":[]}`), []string{"Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws"}, 400, "MANIFEST_INVALID"},
		{"manifest schemaVersion", "PUT", "/v2/good/repo/manifests/x", bytes.Replace(img, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":3`), 1), ct, 400, "MANIFEST_INVALID"},
		{"manifest no config", "PUT", "/v2/good/repo/manifests/x", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`), ct, 400, "MANIFEST_INVALID"},
		{"manifest bad child digest", "PUT", "/v2/good/repo/manifests/x", bytes.Replace(img, []byte(`"sha256:`), []byte(`"sha256:zz`), 1), ct, 400, "MANIFEST_INVALID"},
		{"manifest missing blob", "PUT", "/v2/good/repo/manifests/x", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + bad.String() + `","size":4}}`), ct, 400, "MANIFEST_BLOB_UNKNOWN"},
		{"manifest wrong digest", "PUT", "/v2/good/repo/manifests/" + bad.String(), img, ct, 400, "DIGEST_INVALID"},
		{"manifest bad tag", "PUT", "/v2/good/repo/manifests/.x", img, ct, 400, "MANIFEST_INVALID"},
		{"manifest bad tag param", "PUT", "/v2/good/repo/manifests/" + imgD.String() + "?tag=%2Fx", img, ct, 400, "MANIFEST_INVALID"},
		{"manifest too large", "PUT", "/v2/good/repo/manifests/x", bytes.Repeat([]byte(" "), 4<<20+1), ct, 413, "SIZE_INVALID"},
		{"referrers bad digest", "GET", "/v2/good/repo/referrers/sha256:nope", nil, nil, 400, "DIGEST_INVALID"},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(tc.method, tc.path, tc.body, tc.header...)
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("%s %s = %d %s, want %d %s: %s", tc.method, tc.path, r.status, r.code(), tc.status, tc.code, r.body)
			}
			wantCT := "application/json"
			if tc.code == "" { // no spec code fits: plain text, which the spec allows for a 4xx
				wantCT = "text/plain; charset=utf-8"
			}
			if r.header.Get("Content-Type") != wantCT {
				t.Errorf("error Content-Type = %q, want %q", r.header.Get("Content-Type"), wantCT)
			}
			if bytes.Contains(r.body, []byte(s.data)) {
				t.Errorf("error leaks a server path: %s", r.body)
			}
		})
	}
	// Nothing outside the data directory was created by the traversal attempts.
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.data), "etc")); err == nil {
		t.Fatal("traversal created a directory outside the data dir")
	}
}

// A chunked upload resumes after the process restarts: the session is on disk.
func TestChunkedUploadResumesAfterRestart(t *testing.T) {
	data := t.TempDir()
	s := newServer(t, data)
	blob := bytes.Repeat([]byte("0123456789"), 1000)
	d := digest.FromBytes(blob)
	r := s.mustStatus(s.do("POST", "/v2/a/b/blobs/uploads/", nil), http.StatusAccepted)
	if r.header.Get("OCI-Chunk-Min-Length") == "" || r.header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("POST headers = %v", r.header)
	}
	loc := r.header.Get("Location")
	r = s.mustStatus(s.do("PATCH", loc, blob[:4000], "Content-Range", "0-3999"), http.StatusAccepted)
	if got := r.header.Get("Range"); got != "0-3999" {
		t.Fatalf("Range = %q", got)
	}

	s2 := newServer(t, data) // "restart"
	r = s2.mustStatus(s2.do("GET", loc, nil), http.StatusNoContent)
	if got := r.header.Get("Range"); got != "0-3999" || r.header.Get("Location") != loc {
		t.Fatalf("status after restart: Range %q Location %q", got, r.header.Get("Location"))
	}
	r = s2.mustStatus(s2.do("PATCH", loc, blob[8000:], "Content-Range", "8000-9999"), http.StatusRequestedRangeNotSatisfiable)
	if got := r.header.Get("Range"); got != "0-3999" {
		t.Fatalf("416 Range = %q", got)
	}
	s2.mustStatus(s2.do("PATCH", loc, blob[4000:8000], "Content-Range", "4000-7999"), http.StatusAccepted)
	r = s2.mustStatus(s2.do("PUT", loc+"?digest="+d.String(), blob[8000:], "Content-Range", "8000-9999"), http.StatusCreated)
	if r.header.Get("Location") != "/v2/a/b/blobs/"+d.String() || r.header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("PUT headers = %v", r.header)
	}
	got := s2.mustStatus(s2.do("GET", "/v2/a/b/blobs/"+d.String(), nil), http.StatusOK)
	if !bytes.Equal(got.body, blob) {
		t.Fatal("blob differs")
	}
	s2.mustStatus(s2.do("GET", loc, nil), http.StatusNotFound)
	r = s2.mustStatus(s2.do("GET", "/v2/a/b/blobs/"+d.String(), nil, "Range", "bytes=10-19"), http.StatusPartialContent)
	if string(r.body) != "0123456789" {
		t.Fatalf("range body %q", r.body)
	}
}

func TestUploadCancel(t *testing.T) {
	s := newServer(t, "")
	loc := s.mustStatus(s.do("POST", "/v2/a/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")
	s.mustStatus(s.do("PATCH", loc, []byte("abc")), http.StatusAccepted)
	s.mustStatus(s.do("DELETE", loc, nil), http.StatusNoContent)
	s.mustStatus(s.do("GET", loc, nil), http.StatusNotFound)
	entries, _ := os.ReadDir(filepath.Join(s.data, "uploads"))
	if len(entries) != 0 {
		t.Fatalf("uploads left: %v", entries)
	}
}

// One copy on disk: a blob pushed to two repositories, or mounted, is one inode.
func TestBlobsDeduplicated(t *testing.T) {
	s := newServer(t, "")
	blob := []byte("shared layer")
	d := s.pushBlob("one", blob)
	s.pushBlob("two", blob)
	r := s.mustStatus(s.do("POST", "/v2/three/blobs/uploads/?mount="+d.String()+"&from=one", nil), http.StatusCreated)
	if r.header.Get("Location") != "/v2/three/blobs/"+d.String() {
		t.Fatalf("mount Location = %q", r.header.Get("Location"))
	}
	// Source without the blob: a session instead.
	s.mustStatus(s.do("POST", "/v2/four/blobs/uploads/?mount="+d.String()+"&from=nothere", nil), http.StatusAccepted)
	var inode uint64
	for _, repo := range []string{"one", "two", "three"} {
		fi, err := os.Stat(filepath.Join(s.data, "repos", repo, "_oci", "blobs", "sha256", d.Encoded()))
		if err != nil {
			t.Fatal(err)
		}
		ino := fi.Sys().(*syscall.Stat_t).Ino
		if inode != 0 && ino != inode {
			t.Fatalf("%s holds its own copy", repo)
		}
		inode = ino
	}
	// Deleting from one repository leaves the others whole.
	s.mustStatus(s.do("DELETE", "/v2/one/blobs/"+d.String(), nil), http.StatusAccepted)
	s.mustStatus(s.do("HEAD", "/v2/one/blobs/"+d.String(), nil), http.StatusNotFound)
	s.mustStatus(s.do("HEAD", "/v2/two/blobs/"+d.String(), nil), http.StatusOK)
}

func TestManifestsTagsReferrers(t *testing.T) {
	s := newServer(t, "")
	img, d := s.pushImage("app", "v1", nil, "")
	// By digest with tag parameters.
	r := s.mustStatus(s.do("PUT", "/v2/app/manifests/"+d.String()+"?tag=a&tag=b", img, "Content-Type", "application/vnd.oci.image.manifest.v1+json"), http.StatusCreated)
	if got := r.header.Values("OCI-Tag"); len(got) != 2 {
		t.Fatalf("OCI-Tag = %v", got)
	}
	for _, ref := range []string{"v1", "a", "b", d.String()} {
		r := s.mustStatus(s.do("GET", "/v2/app/manifests/"+ref, nil), http.StatusOK)
		if !bytes.Equal(r.body, img) || r.header.Get("Docker-Content-Digest") != d.String() ||
			r.header.Get("Content-Type") != "application/vnd.oci.image.manifest.v1+json" {
			t.Fatalf("GET %s: %v %s", ref, r.header, r.body)
		}
	}
	// Referrers: a subject that does not exist yet is accepted.
	missing := digest.FromString("later")
	_, sig := s.pushImage("app", "sig", &d, "application/vnd.example.sig")
	s.pushImage("app", "sbom", &d, "application/vnd.example.sbom")
	s.pushImage("app", "orphan", &missing, "application/vnd.example.sig")
	r = s.mustStatus(s.do("GET", "/v2/app/referrers/"+d.String(), nil), http.StatusOK)
	var idx struct {
		MediaType string
		Manifests []struct {
			Digest       digest.Digest
			ArtifactType string
		}
	}
	json.Unmarshal(r.body, &idx)
	if idx.MediaType != "application/vnd.oci.image.index.v1+json" || len(idx.Manifests) != 2 {
		t.Fatalf("referrers = %s", r.body)
	}
	r = s.mustStatus(s.do("GET", "/v2/app/referrers/"+d.String()+"?artifactType=application/vnd.example.sig", nil), http.StatusOK)
	json.Unmarshal(r.body, &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != sig || r.header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("filtered referrers = %s %v", r.body, r.header)
	}
	r = s.mustStatus(s.do("GET", "/v2/nothere/referrers/"+d.String(), nil), http.StatusOK)
	json.Unmarshal(r.body, &idx)
	if len(idx.Manifests) != 0 {
		t.Fatalf("referrers of unknown repo = %s", r.body)
	}
	// Deleting a referrer removes it from the list.
	s.mustStatus(s.do("DELETE", "/v2/app/manifests/"+sig.String(), nil), http.StatusAccepted)
	r = s.mustStatus(s.do("GET", "/v2/app/referrers/"+d.String(), nil), http.StatusOK)
	json.Unmarshal(r.body, &idx)
	if len(idx.Manifests) != 1 {
		t.Fatalf("after delete referrers = %s", r.body)
	}
	// Tags: pagination, untag, delete by digest removes every tag.
	r = s.mustStatus(s.do("GET", "/v2/app/tags/list?n=2", nil), http.StatusOK)
	if !strings.Contains(string(r.body), `"tags":["a","b"]`) || !strings.Contains(r.header.Get("Link"), "last=b") {
		t.Fatalf("tags page = %s %v", r.body, r.header)
	}
	s.mustStatus(s.do("DELETE", "/v2/app/manifests/a", nil), http.StatusAccepted)
	s.mustStatus(s.do("GET", "/v2/app/manifests/a", nil), http.StatusNotFound)
	s.mustStatus(s.do("GET", "/v2/app/manifests/b", nil), http.StatusOK)
	s.mustStatus(s.do("DELETE", "/v2/app/manifests/"+d.String(), nil), http.StatusAccepted)
	for _, ref := range []string{"v1", "b", d.String()} {
		s.mustStatus(s.do("HEAD", "/v2/app/manifests/"+ref, nil), http.StatusNotFound)
	}
	r = s.mustStatus(s.do("GET", "/v2/_catalog", nil), http.StatusOK)
	if string(r.body) != `{"repositories":["app"]}` {
		t.Fatalf("catalog = %s", r.body)
	}
}

// Manifests pushed by digest only stay fetchable and are roots of the layout,
// so tools collecting garbage from index.json keep them.
func TestUntaggedManifestIsRoot(t *testing.T) {
	s := newServer(t, "")
	_, d := s.pushImage("app", "v1", nil, "")
	_, sig := s.pushImage("app", "", &d, "x/y")
	var idx struct {
		Manifests []struct {
			Digest      digest.Digest
			MediaType   string
			Annotations map[string]string
		}
	}
	b, err := os.ReadFile(filepath.Join(s.data, "repos", "app", "_oci", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) != 2 {
		t.Fatalf("index.json = %s", b)
	}
	if m := idx.Manifests[1]; m.Digest != sig || m.MediaType == "" || len(m.Annotations) != 0 {
		t.Fatalf("untagged root = %+v", m)
	}
	s.mustStatus(s.do("GET", "/v2/app/manifests/"+sig.String(), nil), http.StatusOK)
}
