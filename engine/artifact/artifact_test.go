package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// endpoint is a repository both read and written.
type endpoint interface {
	transport.Source
	transport.Target
}

var (
	_ endpoint = (*layout.Layout)(nil)
	_ endpoint = (*registry.Repository)(nil)
)

// endpoints are the places every test runs against: an OCI layout and a
// repository of an in-process registry (with the referrers API).
var endpoints = []struct {
	name string
	open func(t *testing.T) endpoint
}{
	{"layout", func(t *testing.T) endpoint {
		fs, err := store.CreateFS(filepath.Join(t.TempDir(), "layout"))
		if err != nil {
			t.Fatal(err)
		}
		return layout.New(fs)
	}},
	{"registry", func(t *testing.T) endpoint {
		reg, err := registryhttp.New(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(reg)
		t.Cleanup(srv.Close)
		return registry.New(strings.TrimPrefix(srv.URL, "http://"), "artifact/test", registry.Options{})
	}},
}

// writeTree creates files (path -> content) with modes under dir; a
// content starting with "->" makes a symlink.
func writeTree(t *testing.T, dir string, files map[string]string, modes map[string]fs.FileMode) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(c, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		if m, ok := modes[p]; ok {
			if err := os.Chmod(full, m); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkFile asserts the content and permission bits of dir/p.
func checkFile(t *testing.T, dir, p, content string, mode fs.FileMode) {
	t.Helper()
	full := filepath.Join(dir, filepath.FromSlash(p))
	b, err := os.ReadFile(full)
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	if string(b) != content {
		t.Errorf("%s = %q, want %q", p, b, content)
	}
	fi, err := os.Stat(full)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), mode)
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	ctx := context.Background()
	in := t.TempDir()
	writeTree(t, in, map[string]string{
		"a.txt":            "hello",
		"bin/run.sh":       "#!/bin/sh\necho hi\n",
		"tree/x":           "x",
		"tree/sub/y.bin":   "yyy",
		"tree/sub/link":    "->y.bin",
		"tree/exec/tool":   "tool",
		"secret/readme.md": "private",
	}, map[string]fs.FileMode{"bin/run.sh": 0o755, "tree/exec/tool": 0o750, "secret/readme.md": 0o600})
	files := []File{
		{Path: filepath.Join(in, "a.txt"), Name: "a.txt", MediaType: "text/plain"},
		{Path: filepath.Join(in, "bin/run.sh"), Name: "bin/run.sh"},
		{Path: filepath.Join(in, "secret/readme.md"), Name: "docs/readme.md"},
		{Path: filepath.Join(in, "tree"), Name: "tree"},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			e := ep.open(t)
			desc, err := Push(ctx, e, "v1", files, PushOptions{ArtifactType: "application/vnd.test", Annotations: map[string]string{"k": "v"}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := fetchManifest(ctx, e, "v1", oci.DefaultManifestLimit)
			if err != nil {
				t.Fatal(err)
			}
			if m.Digest != desc.Digest || m.ArtifactType != "application/vnd.test" || m.Config.MediaType != oci.MediaTypeEmptyJSON || m.Config.Size != 2 {
				t.Errorf("manifest %s: artifactType %q config %+v", m.Digest, m.ArtifactType, m.Config)
			}
			if m.Annotations["k"] != "v" || m.Annotations[AnnotationCreated] == "" {
				t.Errorf("annotations %v", m.Annotations)
			}
			wantTypes := []string{"text/plain", DefaultFileMediaType, DefaultFileMediaType, DefaultDirMediaType}
			for i, l := range m.Layers {
				if l.MediaType != wantTypes[i] || l.Annotations[AnnotationTitle] != files[i].Name {
					t.Errorf("layer %d: %s %v", i, l.MediaType, l.Annotations)
				}
			}
			if m.Layers[3].Annotations[AnnotationUnpack] != "true" || m.Layers[3].Annotations[AnnotationContentDigest] == "" {
				t.Errorf("directory layer annotations %v", m.Layers[3].Annotations)
			}

			out := filepath.Join(t.TempDir(), "out")
			res, err := Pull(ctx, e, "v1", out, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Files) != 4 || len(res.Skipped) != 0 || res.Manifest.Digest != desc.Digest {
				t.Errorf("result %+v", res)
			}
			checkFile(t, out, "a.txt", "hello", 0o644)
			checkFile(t, out, "bin/run.sh", "#!/bin/sh\necho hi\n", 0o755)
			checkFile(t, out, "docs/readme.md", "private", 0o600)
			checkFile(t, out, "tree/x", "x", 0o644)
			checkFile(t, out, "tree/sub/y.bin", "yyy", 0o644)
			checkFile(t, out, "tree/exec/tool", "tool", 0o750)
			if l, err := os.Readlink(filepath.Join(out, "tree/sub/link")); err != nil || l != "y.bin" {
				t.Errorf("tree/sub/link -> %q (%v)", l, err)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 4 {
				t.Errorf("out holds %d entries, want 4 (temporary files left?)", len(ents))
			}

			again, err := Push(ctx, e, "v2", files, PushOptions{ArtifactType: "application/vnd.test", Annotations: map[string]string{"k": "v", AnnotationCreated: m.Annotations[AnnotationCreated]}})
			if err != nil || again.Digest != desc.Digest {
				t.Errorf("same files pushed again: %s (%v), want %s (reproducible)", again.Digest, err, desc.Digest)
			}
		})
	}
}

// layerSpec is one hand-made layer of a hostile artifact.
type layerSpec struct {
	content     []byte
	annotations map[string]string
}

// pushRaw pushes an artifact made of layers as given, bypassing Push's checks.
func pushRaw(t *testing.T, e endpoint, tag string, layers []layerSpec) {
	t.Helper()
	ctx := context.Background()
	put := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := e.Push(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	m := v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: oci.MediaTypeImageManifest,
		ArtifactType: "application/vnd.test", Config: put(oci.MediaTypeEmptyJSON, []byte("{}"))}
	for _, l := range layers {
		d := put(DefaultFileMediaType, l.content)
		d.Annotations = l.annotations
		m.Layers = append(m.Layers, d)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	md := put(oci.MediaTypeImageManifest, raw)
	if err := e.Tag(ctx, md, tag); err != nil {
		t.Fatal(err)
	}
}

// tarGz builds a gzipped tar of headers (a "->" body makes a symlink).
func tarGz(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		if target, ok := strings.CutPrefix(e[1], "->"); ok {
			h = &tar.Header{Name: e[0], Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: target}
		} else if strings.HasSuffix(e[0], "/") {
			h = &tar.Header{Name: e[0], Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e[1]))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestPullRefusesEscapes(t *testing.T) {
	ctx := context.Background()
	title := func(s string) map[string]string { return map[string]string{AnnotationTitle: s} }
	dir := func(s string) map[string]string {
		return map[string]string{AnnotationTitle: s, AnnotationUnpack: "true"}
	}
	cases := []struct {
		name   string
		layers func(t *testing.T) []layerSpec
		// plant prepares the pull directory (a symlink an attacker left).
		plant func(t *testing.T, out, outside string)
	}{
		{"dotdot title", func(t *testing.T) []layerSpec {
			return []layerSpec{{[]byte("ok"), title("ok.txt")}, {[]byte("x"), title("../x")}}
		}, nil},
		{"dotdot inside title", func(t *testing.T) []layerSpec { return []layerSpec{{[]byte("x"), title("a/../../x")}} }, nil},
		{"absolute title", func(t *testing.T) []layerSpec { return []layerSpec{{[]byte("x"), title("/etc/x")}} }, nil},
		{"empty title", func(t *testing.T) []layerSpec { return []layerSpec{{[]byte("x"), title("")}} }, nil},
		{"dir entry with dotdot", func(t *testing.T) []layerSpec {
			return []layerSpec{{tarGz(t, [][2]string{{"d/", ""}, {"d/../../x", "x"}}), dir("d")}}
		}, nil},
		{"dir entry outside its title", func(t *testing.T) []layerSpec {
			return []layerSpec{{tarGz(t, [][2]string{{"d/", ""}, {"other/x", "x"}}), dir("d")}}
		}, nil},
		{"dir symlink to absolute", func(t *testing.T) []layerSpec {
			return []layerSpec{{tarGz(t, [][2]string{{"d/", ""}, {"d/l", "->/etc"}}), dir("d")}}
		}, nil},
		{"dir symlink climbing out", func(t *testing.T) []layerSpec {
			return []layerSpec{{tarGz(t, [][2]string{{"d/", ""}, {"d/l", "->../.."}}), dir("d")}}
		}, nil},
		{"dir symlink chain", func(t *testing.T) []layerSpec {
			return []layerSpec{{tarGz(t, [][2]string{{"d/", ""}, {"d/l", "->x/../.."}, {"d/x", "->."}}), dir("d")}}
		}, nil},
		{"planted symlink", func(t *testing.T) []layerSpec { return []layerSpec{{[]byte("x"), title("link/x")}} },
			func(t *testing.T, out, outside string) {
				if err := os.Symlink(outside, filepath.Join(out, "link")); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := endpoints[0].open(t)
			pushRaw(t, e, "bad", c.layers(t))
			base := t.TempDir()
			out, outside := filepath.Join(base, "out"), filepath.Join(base, "outside")
			for _, d := range []string{out, outside} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if c.plant != nil {
				c.plant(t, out, outside)
			}
			_, err := Pull(ctx, e, "bad", out, PullOptions{})
			if !errors.Is(err, errdef.ErrInvalid) {
				t.Fatalf("Pull: %v, want ErrInvalid", err)
			}
			t.Log(err)
			for _, d := range []string{base, outside} {
				ents, _ := os.ReadDir(d)
				for _, ent := range ents {
					if n := ent.Name(); n != "out" && n != "outside" {
						t.Errorf("%s written in %s", n, d)
					}
				}
			}
			if _, err := os.Lstat(filepath.Join(out, "ok.txt")); err == nil {
				t.Error("ok.txt written although a later title was refused")
			}
		})
	}
}

func TestPullLimits(t *testing.T) {
	ctx := context.Background()
	e := endpoints[0].open(t)
	big := strings.Repeat("0", 1<<20)
	pushRaw(t, e, "bomb", []layerSpec{{tarGz(t, [][2]string{{"d/", ""}, {"d/zeros", big}}), map[string]string{AnnotationTitle: "d", AnnotationUnpack: "true"}}})
	if _, err := Pull(ctx, e, "bomb", t.TempDir(), PullOptions{MaxUnpackSize: 64 << 10}); !errors.Is(err, errdef.ErrTooLarge) {
		t.Errorf("Pull of a bomb: %v, want ErrTooLarge", err)
	}
	pushRaw(t, e, "untitled", []layerSpec{{[]byte("a"), nil}, {[]byte("b"), map[string]string{AnnotationTitle: "b"}}})
	res, err := Pull(ctx, e, "untitled", t.TempDir(), PullOptions{})
	if err != nil || len(res.Files) != 1 || len(res.Skipped) != 1 {
		t.Errorf("Pull: %+v, %v; want one file and one skipped layer", res, err)
	}
	bad := map[string]string{AnnotationTitle: "d", AnnotationUnpack: "true", AnnotationContentDigest: digest.FromString("other").String()}
	pushRaw(t, e, "baddigest", []layerSpec{{tarGz(t, [][2]string{{"d/", ""}, {"d/f", "f"}}), bad}})
	if _, err := Pull(ctx, e, "baddigest", t.TempDir(), PullOptions{}); !errors.Is(err, errdef.ErrDigestMismatch) {
		t.Errorf("Pull with a wrong content digest: %v, want ErrDigestMismatch", err)
	}
}

func TestPushRefuses(t *testing.T) {
	ctx := context.Background()
	e := endpoints[0].open(t)
	f := filepath.Join(t.TempDir(), "f")
	writeTree(t, filepath.Dir(f), map[string]string{"f": "f"}, nil)
	cases := map[string][]File{
		"no files":       nil,
		"escaping title": {{Path: f, Name: "../f"}},
		"absolute path":  {{Path: f}},
		"same title":     {{Path: f, Name: "f"}, {Path: f, Name: "./f"}},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Push(ctx, e, "x", files, PushOptions{}); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Push: %v, want ErrInvalid", err)
			}
		})
	}
}

// flatten renders a discovered tree as "depth:artifactType" lines.
func flatten(n *Node, depth int, out *[]string) {
	for _, c := range n.Referrers {
		*out = append(*out, strings.Repeat(">", depth+1)+c.ArtifactType)
		flatten(c, depth+1, out)
	}
}

func TestAttachDiscover(t *testing.T) {
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "f.json")
	writeTree(t, filepath.Dir(f), map[string]string{"f.json": "{}"}, nil)
	files := []File{{Path: f, Name: "f.json"}}
	const sbomType, sigType = "application/spdx+json", "application/vnd.dev.sig"
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			e := ep.open(t)
			if _, err := Push(ctx, e, "app", files, PushOptions{}); err != nil {
				t.Fatal(err)
			}
			sbom, err := Attach(ctx, e, e, "app", files, PushOptions{ArtifactType: sbomType})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Attach(ctx, e, e, "app", files, PushOptions{ArtifactType: sigType}); err != nil {
				t.Fatal(err)
			}
			if _, err := Attach(ctx, e, e, sbom.Digest.String(), files, PushOptions{ArtifactType: sigType}); err != nil {
				t.Fatal(err)
			}
			if _, err := Attach(ctx, e, e, "app", files, PushOptions{}); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Attach without an artifact type: %v, want ErrInvalid", err)
			}
			for _, c := range []struct {
				filter string
				want   []string
			}{
				{"", []string{">" + sbomType, ">>" + sigType, ">" + sigType}},
				{sigType, []string{">" + sigType}},
				{sbomType, []string{">" + sbomType}},
				{"application/none", nil},
			} {
				tree, err := Discover(ctx, e, "app", DiscoverOptions{ArtifactType: c.filter})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				flatten(tree, 0, &got)
				if strings.Join(sortedLevels(got), ",") != strings.Join(sortedLevels(c.want), ",") {
					t.Errorf("filter %q: tree %v, want %v", c.filter, got, c.want)
				}
			}
		})
	}
}

// sortedLevels orders sibling lines so that the registry's listing order
// does not matter: referrers APIs give no order.
func sortedLevels(lines []string) []string {
	out := append([]string(nil), lines...)
	// Only the root's children can be reordered in these trees; the sbom's
	// own child follows it. Sort pairs by moving each ">>" line next to its parent.
	var roots [][]string
	for _, l := range out {
		if strings.HasPrefix(l, ">>") && len(roots) > 0 {
			roots[len(roots)-1] = append(roots[len(roots)-1], l)
			continue
		}
		roots = append(roots, []string{l})
	}
	for i := range roots {
		for j := i + 1; j < len(roots); j++ {
			if strings.Join(roots[j], "") < strings.Join(roots[i], "") {
				roots[i], roots[j] = roots[j], roots[i]
			}
		}
	}
	var flat []string
	for _, r := range roots {
		flat = append(flat, r...)
	}
	return flat
}
