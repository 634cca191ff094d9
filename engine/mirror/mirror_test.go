package mirror_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// server is an in-process registry that counts the requests it answers and
// can be told to fail some.
type server struct {
	host string
	mu   sync.Mutex
	reqs map[string]int // "METHOD kind": kind is blobs, manifests, tags, uploads or other
	fail func(*http.Request) bool
}

func newServer(t *testing.T) *server {
	t.Helper()
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{reqs: map[string]int{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		for _, k := range []string{"/blobs/uploads/", "/blobs/", "/manifests/", "/tags/"} {
			if strings.Contains(r.URL.Path, k) {
				kind = strings.Trim(strings.TrimPrefix(k, "/blobs/uploads"), "/")
				if kind == "" {
					kind = "uploads"
				}
				break
			}
		}
		s.mu.Lock()
		s.reqs[r.Method+" "+kind]++
		fail := s.fail
		s.mu.Unlock()
		if fail != nil && fail(r) {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"injected"}]}`, http.StatusNotFound)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	s.host = strings.TrimPrefix(ts.URL, "http://")
	return s
}

// take returns and resets the request counts.
func (s *server) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = map[string]int{}
	return r
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// pusher builds images in one repository of a server.
type pusher struct {
	t    *testing.T
	repo *registry.Repository
}

func (s *server) repo(t *testing.T, name string) pusher {
	return pusher{t, registry.New(s.host, name, registry.Options{})}
}

func (p pusher) blob(mt string, b []byte) oci.Descriptor {
	p.t.Helper()
	d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := p.repo.Push(context.Background(), d, bytes.NewReader(b)); err != nil {
		p.t.Fatal(err)
	}
	return d
}

func (p pusher) json(mt string, v any) oci.Descriptor {
	p.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.blob(mt, b)
}

// image pushes an image of the given layers (contents) for arch.
func (p pusher) image(arch string, layers ...string) oci.Descriptor {
	p.t.Helper()
	cfg := p.json(oci.MediaTypeImageConfig, map[string]any{"os": "linux", "architecture": arch, "rootfs": map[string]any{"type": "layers", "diff_ids": []string{}}})
	var ls []oci.Descriptor
	for _, l := range layers {
		ls = append(ls, p.blob(oci.MediaTypeLayer, []byte(l)))
	}
	return p.json(oci.MediaTypeImageManifest, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": cfg, "layers": ls})
}

func (p pusher) tag(d oci.Descriptor, tags ...string) {
	p.t.Helper()
	for _, tag := range tags {
		if err := p.repo.Tag(context.Background(), d, tag); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p pusher) resolve(tag string) (oci.Descriptor, error) {
	return p.repo.Resolve(context.Background(), tag)
}

func run(t *testing.T, cfg string, opts mirror.Options) *mirror.Report {
	t.Helper()
	c, err := mirror.ParseConfig([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := mirror.Run(context.Background(), engine.New(engine.Options{}), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func byTag(rep *mirror.Report) map[string]mirror.ImageReport {
	m := map[string]mirror.ImageReport{}
	for _, im := range rep.Images {
		m[im.Source[strings.LastIndexByte(im.Source, ':')+1:]] = im
	}
	return m
}

// TestMirror walks a repository through the life of a mirror: a dry run,
// a cold run, a no-op run, a moved tag, a failing image.
func TestMirror(t *testing.T) {
	src, dst := newServer(t), newServer(t)
	app := src.repo(t, "org/app")
	// Four tags over three images that share a base layer; "latest" and
	// "v2.0.0" name the same image.
	v1 := app.image("amd64", "base", "v1 layer")
	v11 := app.image("amd64", "base", "v1.1 layer")
	v2 := app.image("amd64", "base", "v2 layer")
	app.tag(v1, "v1.0.0")
	app.tag(v11, "v1.1.0")
	app.tag(v2, "v2.0.0", "latest")
	app.tag(app.image("amd64", "base", "rc"), "v2.1.0-rc1")
	cfg := fmt.Sprintf(`
destination: {registry: %q, prefix: mirror, stripPrefix: org}
sources:
  - repository: docker://%s/org/app
    tags: {deny: ['-rc']}
`, dst.host, src.host)
	want := map[string]oci.Descriptor{"v1.0.0": v1, "v1.1.0": v11, "v2.0.0": v2, "latest": v2}
	dstApp := dst.repo(t, "mirror/app")
	src.take()

	t.Run("dry run writes nothing", func(t *testing.T) {
		rep := run(t, cfg, mirror.Options{DryRun: true})
		if rep.Summary.WouldCopy != 4 || rep.Summary.Images != 4 || rep.Failed() {
			t.Errorf("summary %+v, want 4 would-copy", rep.Summary)
		}
		for tag, im := range byTag(rep) {
			if im.Action != mirror.ActionWouldCopy || im.Reason != mirror.ReasonNew || im.SourceDigest != want[tag].Digest {
				t.Errorf("%s: %+v", tag, im)
			}
		}
		for k, n := range dst.take() {
			if !strings.HasPrefix(k, "HEAD") && !strings.HasPrefix(k, "GET") {
				t.Errorf("dry run sent %d %s requests to the destination", n, k)
			}
		}
	})

	t.Run("cold", func(t *testing.T) {
		var progress int
		src.take()
		dst.take()
		rep := run(t, cfg, mirror.Options{Progress: func(mirror.ImageReport) { progress++ }})
		s, d := src.take(), dst.take()
		if rep.Summary.Copied != 4 || rep.Failed() || progress != 4 {
			t.Fatalf("summary %+v (%d progress calls), want 4 copied", rep.Summary, progress)
		}
		for tag, im := range byTag(rep) {
			if im.Action != mirror.ActionCopied || im.Destination != "docker://"+dst.host+"/mirror/app:"+tag {
				t.Errorf("%s: %+v", tag, im)
			}
			if got, err := dstApp.resolve(tag); err != nil || got.Digest != want[tag].Digest {
				t.Errorf("destination %s: %v, %v; want %s", tag, got.Digest, err, want[tag].Digest)
			}
		}
		// One config (the images differ only in layers) + 4 distinct layers
		// (the shared base once), each uploaded once although four images ran
		// in parallel.
		if rep.Summary.BlobsCopied != 5 {
			t.Errorf("blobs copied %d, want 5", rep.Summary.BlobsCopied)
		}
		// Requests: at the source, one GET per tag (digest and bytes at
		// once); at the destination, one tag list (which has none of the
		// tags: no HEAD for them), one HEAD per distinct image (latest and
		// v2.0.0 wait for one copy, then only tag it) and one per distinct
		// blob, though images sharing them ran at once, then each blob's
		// upload and one PUT per tag.
		wantSrc := map[string]int{"GET tags": 1, "GET manifests": 4, "GET blobs": 5}
		wantDst := map[string]int{"GET tags": 1, "HEAD manifests": 3, "HEAD blobs": 5, "POST uploads": 5, "PUT uploads": 5, "PUT manifests": 4}
		delete(s, "GET other")
		delete(d, "GET other")
		if fmt.Sprint(s) != fmt.Sprint(wantSrc) {
			t.Errorf("source requests %v, want %v", s, wantSrc)
		}
		if fmt.Sprint(d) != fmt.Sprint(wantDst) {
			t.Errorf("destination requests %v, want %v", d, wantDst)
		}
	})

	t.Run("no-op moves no blob bytes", func(t *testing.T) {
		src.take()
		dst.take()
		var blobBytes int64
		rep := run(t, cfg, mirror.Options{})
		for _, im := range rep.Images {
			blobBytes += im.Bytes
			if im.Action != mirror.ActionSkipped || im.SourceDigest != want[byTagKey(im)].Digest {
				t.Errorf("%+v, want skipped", im)
			}
		}
		if blobBytes != 0 || rep.Summary.Bytes != 0 || rep.Summary.Skipped != 4 {
			t.Errorf("summary %+v, want 4 skipped and no bytes", rep.Summary)
		}
		// One tag list, then one HEAD per tag at each side.
		s, d := src.take(), dst.take()
		if s["GET tags"] != 1 || s["HEAD manifests"] != 4 || total(s) != 5+s["GET other"] || s["GET other"] > 1 {
			t.Errorf("source requests %v, want 1 tag list + 4 HEADs", s)
		}
		if d["GET tags"] != 1 || d["HEAD manifests"] != 4 || total(d) != 5+d["GET other"] || d["GET other"] > 1 {
			t.Errorf("destination requests %v, want 1 tag list + 4 HEADs", d)
		}
	})

	t.Run("a tag list that lags costs a PUT per tag, no upload", func(t *testing.T) {
		dst.mu.Lock()
		dst.fail = func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/tags/list") }
		dst.mu.Unlock()
		t.Cleanup(func() { dst.mu.Lock(); dst.fail = nil; dst.mu.Unlock() })
		dst.take()
		rep := run(t, cfg, mirror.Options{})
		if rep.Failed() || rep.Summary.BlobsCopied != 0 {
			t.Errorf("summary %+v, want no failure and no blob copied", rep.Summary)
		}
		for tag, im := range byTag(rep) {
			if got, err := dstApp.resolve(tag); err != nil || got.Digest != want[tag].Digest {
				t.Errorf("destination %s: %v, %v; want %s", tag, got.Digest, err, want[tag].Digest)
			}
			if im.Bytes != 0 && im.Bytes != want[tag].Size {
				t.Errorf("%s sent %d bytes, want at most its manifest", tag, im.Bytes)
			}
		}
		if d := dst.take(); d["POST uploads"] != 0 || d["HEAD blobs"] != 0 {
			t.Errorf("destination requests %v, want no blob HEAD or upload", d)
		}
	})

	t.Run("moved tag", func(t *testing.T) {
		v12 := app.image("amd64", "base", "v1.2 layer")
		app.tag(v12, "v1.1.0")
		rep := run(t, cfg, mirror.Options{})
		got := byTag(rep)
		if im := got["v1.1.0"]; im.Action != mirror.ActionCopied || im.Reason != mirror.ReasonMoved || im.PreviousDigest != v11.Digest || im.SourceDigest != v12.Digest || im.BlobsCopied != 1 {
			t.Errorf("moved tag: %+v", im)
		}
		if d, _ := dstApp.resolve("v1.1.0"); d.Digest != v12.Digest {
			t.Errorf("destination v1.1.0 is %s, want %s", d.Digest, v12.Digest)
		}
		if rep.Summary.Copied != 1 || rep.Summary.Skipped != 3 {
			t.Errorf("summary %+v, want 1 copied 3 skipped", rep.Summary)
		}
		want["v1.1.0"] = v12
	})

	t.Run("a failing image does not stop the others", func(t *testing.T) {
		bad := app.image("amd64", "base", "unreadable layer")
		good := app.image("amd64", "base", "fine layer")
		app.tag(bad, "v3.0.0")
		app.tag(good, "v3.1.0")
		badLayer := digest.FromBytes([]byte("unreadable layer"))
		src.mu.Lock()
		src.fail = func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, badLayer.String())
		}
		src.mu.Unlock()
		t.Cleanup(func() { src.mu.Lock(); src.fail = nil; src.mu.Unlock() })
		rep := run(t, cfg, mirror.Options{})
		got := byTag(rep)
		if im := got["v3.0.0"]; im.Action != mirror.ActionFailed || im.Error == nil || im.Error.Code != "NOT_FOUND" || im.Error.Origin != "source" || im.Error.RegistryCode != "BLOB_UNKNOWN" {
			t.Errorf("failing image: %+v (error %+v)", im, im.Error)
		}
		if im := got["v3.1.0"]; im.Action != mirror.ActionCopied {
			t.Errorf("other image: %+v", im)
		}
		if !rep.Failed() || rep.Summary.Failed != 1 || rep.Summary.Copied != 1 || rep.Summary.Skipped != 4 {
			t.Errorf("summary %+v, want 1 failed, 1 copied, 4 skipped", rep.Summary)
		}
		if _, err := dstApp.resolve("v3.0.0"); err == nil {
			t.Error("failed image was tagged at the destination")
		}
	})
}

func byTagKey(im mirror.ImageReport) string {
	return im.Source[strings.LastIndexByte(im.Source, ':')+1:]
}

// TestMirrorFilters: semver and newest-N pick the tags, explicit images
// and a platform filter pick the manifests.
func TestMirrorFilters(t *testing.T) {
	src, dst := newServer(t), newServer(t)
	app := src.repo(t, "org/app")
	img := app.image("amd64", "base", "x")
	app.tag(img, "1.0.0", "1.5.0", "1.9.0", "2.0.0", "latest")
	amd := app.image("amd64", "base", "amd64 layer")
	arm := app.image("arm64", "base", "arm64 layer")
	amd.Platform = &oci.Platform{OS: "linux", Architecture: "amd64"}
	arm.Platform = &oci.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	index := app.json(oci.MediaTypeImageIndex, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{amd, arm}})
	app.tag(index, "multi")

	cfg := fmt.Sprintf(`
destination: {registry: %q}
sources:
  - repository: %s/org/app
    tags: {semver: '^1', newest: 2}
  - images: [%s/org/app:multi]
    platforms: [linux/arm64]
    destination: {repository: one/arm}
  - images: [%s/org/app:multi]
    destination: {repository: whole/index}
`, dst.host, src.host, src.host, src.host)
	rep := run(t, cfg, mirror.Options{})
	var got []string
	for _, im := range rep.Images {
		got = append(got, im.Destination+" "+im.Action+" "+im.SourceDigest.String())
	}
	wantLines := []string{
		"docker://" + dst.host + "/org/app:1.9.0 copied " + img.Digest.String(),
		"docker://" + dst.host + "/org/app:1.5.0 copied " + img.Digest.String(),
		"docker://" + dst.host + "/one/arm:multi copied " + arm.Digest.String(),
		"docker://" + dst.host + "/whole/index:multi copied " + index.Digest.String(),
	}
	if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
	if d, err := dst.repo(t, "one/arm").resolve("multi"); err != nil || d.Digest != arm.Digest {
		t.Errorf("one/arm:multi is %v (%v), want the arm64 manifest %s", d.Digest, err, arm.Digest)
	}
	if d, err := dst.repo(t, "whole/index").resolve("multi"); err != nil || d.Digest != index.Digest {
		t.Errorf("whole/index:multi is %v (%v), want the index %s", d.Digest, err, index.Digest)
	}
	again := run(t, cfg, mirror.Options{})
	if again.Summary.Skipped != 4 || again.Summary.Bytes != 0 {
		t.Errorf("second run %+v, want all 4 skipped", again.Summary)
	}
}
