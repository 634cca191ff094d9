package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"
)

// testImage is one image (or index, or artifact) the fixtures pushed.
type testImage struct {
	Name string // subtest name
	Repo string // HOST/repo
	Tag  string
	Kind string // "image", "index" or "artifact"
}

// Ref is the image's HOST/repo:tag reference.
func (i testImage) Ref() string { return i.Repo + ":" + i.Tag }

// fixtures are built once per package run, by crane and oras (the oracles
// write, stevedore reads), into one distribution registry.
type fixtures struct {
	Dist     *distRegistry
	Images   []testImage
	TagsRepo string   // HOST/repo holding manyTags tags
	Tags     []string // its tags
	// PagedTagsRepo is TagsRepo behind a proxy that pages tag lists the way
	// Docker Hub and GHCR do; distribution only pages when asked (?n=).
	PagedTagsRepo string
	dir           string // scratch files
}

// manyTags exceeds the page size clients and registries commonly use (100),
// so listing must follow pagination.
const manyTags = 150

var (
	fixOnce sync.Once
	fix     *fixtures
	fixErr  error
)

// sharedFixtures returns the package's fixtures, building them on first use.
func sharedFixtures(t testing.TB) *fixtures {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixtures(pkg) })
	if fixErr != nil {
		t.Fatalf("building test images: %v", fixErr)
	}
	return fix
}

// image returns the fixture named name.
func (f *fixtures) image(t testing.TB, name string) testImage {
	t.Helper()
	for _, i := range f.Images {
		if i.Name == name {
			return i
		}
	}
	t.Fatalf("no test image %q", name)
	return testImage{}
}

func buildFixtures(o owner) (*fixtures, error) {
	dist, err := startDistribution(o, "distribution", distOptions{})
	if err != nil {
		return nil, err
	}
	f := &fixtures{Dist: dist, dir: o.TempDir()}
	h := dist.Host
	layer := func(name string, files int) (string, error) {
		p := filepath.Join(f.dir, name+".tar")
		return p, writeLayerTar(p, name, files)
	}
	l := map[string]string{}
	for _, n := range []string{"base1", "base2", "docker", "amd64", "arm64"} {
		if l[n], err = layer(n, 3); err != nil {
			return nil, err
		}
	}
	artifact := filepath.Join(f.dir, "artifact.txt")
	if err := os.WriteFile(artifact, []byte("an artifact, not an image\n"), 0o644); err != nil {
		return nil, err
	}

	steps := [][]string{
		// An OCI image with two layers and a config carrying env, entrypoint,
		// cmd, labels and a platform.
		{"crane", "append", "--oci-empty-base", "-f", l["base1"], "-t", h + "/pull/oci:v1"},
		{"crane", "append", "-b", h + "/pull/oci:v1", "-f", l["base2"], "-t", h + "/pull/oci:v1"},
		{"crane", "mutate", h + "/pull/oci:v1", "--set-platform", "linux/amd64", "-e", "FOO=bar", "-e", "PATH=/usr/bin",
			"--entrypoint", "/bin/app,--flag", "--cmd", "serve", "-l", "org.example.label=yes", "-t", h + "/pull/oci:v1"},
		// Docker schema 2 media types (crane's default empty base).
		{"crane", "append", "-f", l["docker"], "-t", h + "/pull/docker:v1"},
		// Two platforms, then an index over them.
		{"crane", "append", "--oci-empty-base", "-f", l["base1"], "-f", l["amd64"], "-t", h + "/pull/multi:amd64-tmp"},
		{"crane", "mutate", h + "/pull/multi:amd64-tmp", "--set-platform", "linux/amd64", "-t", h + "/pull/multi:amd64"},
		{"crane", "append", "--oci-empty-base", "-f", l["base1"], "-f", l["arm64"], "-t", h + "/pull/multi:arm64-tmp"},
		{"crane", "mutate", h + "/pull/multi:arm64-tmp", "--set-platform", "linux/arm64/v8", "-t", h + "/pull/multi:arm64"},
		{"crane", "index", "append", "-m", h + "/pull/multi:amd64", "-m", h + "/pull/multi:arm64", "-t", h + "/pull/multi:v1"},
		// An artifact: empty config, artifactType, a text layer.
		{"oras", "push", "--plain-http", "--disable-path-validation", "--artifact-type", "application/vnd.stevedore.test+type",
			"--annotation", "org.example.note=hello", h + "/pull/artifact:v1", artifact + ":text/plain"},
	}
	for _, s := range steps {
		if err := runOK(nil, s[0], s[1:]...); err != nil {
			return nil, err
		}
	}
	f.Images = []testImage{
		{Name: "oci", Repo: h + "/pull/oci", Tag: "v1", Kind: "image"},
		{Name: "docker", Repo: h + "/pull/docker", Tag: "v1", Kind: "image"},
		{Name: "index", Repo: h + "/pull/multi", Tag: "v1", Kind: "index"},
		{Name: "arm64", Repo: h + "/pull/multi", Tag: "arm64", Kind: "image"},
		{Name: "artifact", Repo: h + "/pull/artifact", Tag: "v1", Kind: "artifact"},
	}

	f.TagsRepo = h + "/pull/many"
	if err := runOK(nil, "crane", "copy", h+"/pull/docker:v1", f.TagsRepo+":t000"); err != nil {
		return nil, err
	}
	for i := range manyTags {
		f.Tags = append(f.Tags, fmt.Sprintf("t%03d", i))
	}
	if err := retagMany(context.Background(), h, "pull/many", f.Tags[0], f.Tags[1:]); err != nil {
		return nil, err
	}
	paged := pagingProxy(dist.Host, tagPageSize)
	o.Cleanup(paged.Close)
	f.PagedTagsRepo = strings.TrimPrefix(paged.URL, "http://") + "/pull/many"
	if err := checkPaged(paged.URL + "/v2/pull/many/tags/list"); err != nil {
		return nil, err
	}
	return f, nil
}

// checkPaged makes sure the proxy really pages, or the pagination tests
// would pass without following a single Link.
func checkPaged(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var page struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if len(page.Tags) != tagPageSize || !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
		return fmt.Errorf("GET %s: %d tags, Link %q; want a page of %d and a next link", url, len(page.Tags), resp.Header.Get("Link"), tagPageSize)
	}
	return nil
}

// tagPageSize is the page the paging proxy imposes: manyTags needs four pages.
const tagPageSize = 40

// pagingProxy fronts a registry and adds ?n=page to tag listings that do not
// say n, so the registry answers one page and a Link header for the next.
// distribution-spec v1.1.1 §Listing Tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags
func pagingProxy(host string, page int) *httptest.Server {
	target := &url.URL{Scheme: "http", Host: host}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		if strings.HasSuffix(r.Out.URL.Path, "/tags/list") {
			q := r.Out.URL.Query()
			if q.Get("n") == "" {
				q.Set("n", strconv.Itoa(page))
				r.Out.URL.RawQuery = q.Encode()
			}
		}
	}}
	return httptest.NewServer(rp)
}

// retagMany PUTs the manifest tagged from under every name in tags; 150 crane
// processes would work too, but take seconds.
// distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func retagMany(ctx context.Context, host, repo, from string, tags []string) error {
	raw, err := exec1("crane", "manifest", host+"/"+repo+":"+from)
	if err != nil {
		return err
	}
	var mt struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &mt); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, tag := range tags {
		g.Go(func() error {
			url := fmt.Sprintf("http://%s/v2/%s/manifests/%s", host, repo, tag)
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(raw))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", mt.MediaType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				return fmt.Errorf("PUT %s: %s: %s", url, resp.Status, b)
			}
			return nil
		})
	}
	return g.Wait()
}

// writeLayerTar writes an uncompressed layer tarball of files regular files
// of pseudo-random bytes, seeded by name so reruns build the same layers.
// image-spec v1.1.1 layer.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md
func writeLayerTar(path, name string, files int) error {
	var seed [32]byte
	copy(seed[:], name)
	rng := rand.New(rand.NewChaCha8(seed))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	dir := "data/" + name + "/"
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755}); err != nil {
		f.Close()
		return err
	}
	for i := range files {
		size := 1024 + rng.IntN(64<<10)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%sfile%d.bin", dir, i), Mode: 0o644, Size: int64(size)}); err != nil {
			f.Close()
			return err
		}
		if _, err := io.CopyN(tw, readerFunc(func(p []byte) (int, error) {
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			return len(p), nil
		}), int64(size)); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type readerFunc func([]byte) (int, error)

func (r readerFunc) Read(p []byte) (int, error) { return r(p) }

// runOK runs a command that must succeed, for fixture building (no testing.T).
func runOK(env []string, bin string, args ...string) error {
	_, err := exec1Env(env, bin, args...)
	return err
}

// exec1 runs a command that must succeed and returns its stdout.
func exec1(bin string, args ...string) ([]byte, error) { return exec1Env(nil, bin, args...) }

func exec1Env(env []string, bin string, args ...string) ([]byte, error) {
	r, err := run(env, bin, args...)
	if err != nil {
		return nil, err
	}
	if r.Code != 0 {
		return nil, fmt.Errorf("%s %s: exit %d: %s", bin, strings.Join(args, " "), r.Code, r.Stderr)
	}
	return r.Stdout, nil
}
