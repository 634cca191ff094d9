package analyze_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// whiteoutImage has three layers, one per compression, exercising every
// rule of image-spec v1.1.1 layer.md: deletes, opaque directories, replaced
// files, a directory replaced by a file, unclean names.
func whiteoutImage(t *testing.T) *image {
	return newImage(t, "",
		gzLayer(t,
			dir("a/"), file("a/x", "x"), file("a/y", "y"),
			dir("b/"), dir("b/c/"), file("b/c/d", "d"),
			file("c", "c"),
			dir("d/"), file("d/e", "e"),
			file("f", "old"),
			dir("g/"), file("g/h", "h"),
		),
		zstLayer(t,
			file("a/.wh.x", ""),
			file("b/.wh..wh..opq", ""), file("b/new", "new"),
			file(".wh.c", ""),
			file("d", "now a file"),
			file("f", "new"),
			file("g/.wh.h", ""),
			file("./e/f", "dot-slash"),
			file("/abs", "leading slash"),
			file("b/new2", "same layer as the opaque marker"),
		),
		plainLayer(t,
			file(".wh.g", ""),
			dir("c/"), file("c/k", "k"),
		),
	)
}

func TestFilesWhiteouts(t *testing.T) {
	ctx := context.Background()
	img := whiteoutImage(t)
	files, err := analyze.Files(ctx, img.src, "v1", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Path, Type string
		Layer      int
	}
	var got []row
	for _, f := range files {
		got = append(got, row{f.Path, f.Type, f.Layer})
	}
	want := []row{
		{"a", "dir", 0}, {"a/y", "file", 0},
		{"abs", "file", 1},
		{"b", "dir", 0}, {"b/new", "file", 1}, {"b/new2", "file", 1},
		{"c", "dir", 2}, {"c/k", "file", 2},
		{"d", "file", 1},
		{"e/f", "file", 1},
		{"f", "file", 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged tree (-want +got):\n%s", diff)
	}

	changes, err := analyze.Changes(ctx, img.src, "v1", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type change struct{ Added, Modified, Deleted []string }
	var gotCh []change
	for _, c := range changes {
		gotCh = append(gotCh, change{c.Added, c.Modified, c.Deleted})
	}
	wantCh := []change{
		{[]string{"a", "a/x", "a/y", "b", "b/c", "b/c/d", "c", "d", "d/e", "f", "g", "g/h"}, []string{}, []string{}},
		{[]string{"abs", "b/new", "b/new2", "e/f"}, []string{"d", "f"}, []string{"a/x", "b/c", "b/c/d", "c", "d/e", "g/h"}},
		{[]string{"c", "c/k"}, []string{}, []string{"g"}},
	}
	if diff := cmp.Diff(wantCh, gotCh); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func TestReadFile(t *testing.T) {
	ctx := context.Background()
	img := whiteoutImage(t)
	links := newImage(t, "", gzLayer(t,
		dir("etc/"), file("etc/passwd", "root:x:0:0"),
		dir("usr/"), dir("usr/bin/"), file("usr/bin/tool", "tool"),
		symlink("bin", "usr/bin"),
		symlink("abs", "/etc/passwd"),
		symlink("host", "/etc/hostname"), // exists on the host, not in the image
		symlink("up", "../../../../etc/passwd"),
		symlink("loop1", "loop2"), symlink("loop2", "loop1"),
		tf{name: "hard", typ: tar.TypeLink, body: "etc/passwd"},
	))
	tests := []struct {
		name    string
		img     *image
		path    string
		want    string
		wantErr error
	}{
		{"replaced file", img, "f", "new", nil},
		{"lower file", img, "/a/y", "y", nil},
		{"whited out", img, "a/x", "", errdef.ErrNotFound},
		{"under opaque dir", img, "b/c/d", "", errdef.ErrNotFound},
		{"directory", img, "a", "", errdef.ErrInvalid},
		{"dir replaced by file", img, "d", "now a file", nil},
		{"symlinked directory", links, "bin/tool", "tool", nil},
		{"absolute symlink inside the root", links, "abs", "root:x:0:0", nil},
		{"absolute symlink to a host file", links, "host", "", errdef.ErrNotFound},
		{"relative symlink out of the root", links, "up", "", errdef.ErrInvalid},
		{"symlink loop", links, "loop1", "", errdef.ErrInvalid},
		{"hard link", links, "hard", "root:x:0:0", nil},
		{"path escaping the root", links, "../etc/passwd", "", errdef.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := analyze.ReadFile(ctx, tt.img.src, "v1", tt.path, analyze.Options{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, rc); got != tt.want {
				t.Errorf("content %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	img := whiteoutImage(t)
	var buf bytes.Buffer
	if err := analyze.Export(ctx, img.src, "v1", &buf, analyze.Options{}); err != nil {
		t.Fatal(err)
	}
	order, got := readTar(t, &buf)
	for i := range order {
		order[i] = strings.TrimSuffix(order[i], "/")
	}
	want := map[string]string{
		"a": "", "a/y": "y", "abs": "leading slash", "b": "", "b/new": "new", "b/new2": "same layer as the opaque marker",
		"c": "", "c/k": "k", "d": "now a file", "e/f": "dot-slash", "f": "new",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exported files (-want +got):\n%s", diff)
	}
	files, err := analyze.Files(ctx, img.src, "v1", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range files {
		listed = append(listed, f.Path)
	}
	sort.Strings(order)
	if diff := cmp.Diff(listed, order); diff != "" {
		t.Errorf("export and Files disagree (-files +export):\n%s", diff)
	}
}

func TestLayerFiles(t *testing.T) {
	img := whiteoutImage(t)
	files, err := analyze.LayerFiles(context.Background(), img.src, "v1", 2, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Type+" "+f.Path)
	}
	if diff := cmp.Diff([]string{"dir c", "file c/k", "whiteout g"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := analyze.LayerFiles(context.Background(), img.src, "v1", 3, analyze.Options{}); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("layer out of range: err = %v", err)
	}
}

// zeros streams n zero bytes.
type zeros int64

func (z *zeros) Read(p []byte) (int, error) {
	if *z <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), int64(*z))
	clear(p[:n])
	*z -= zeros(n)
	return int(n), nil
}

// bombTar is a tar holding one file of n zero bytes.
func bombTar(t *testing.T, n int64) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: n})
		z := zeros(n)
		io.Copy(tw, &z)
		pw.CloseWithError(tw.Close())
	}()
	return pr
}

func TestBadLayers(t *testing.T) {
	ctx := context.Background()
	bomb := func(t *testing.T, mediaType string, n int64) layer {
		var buf bytes.Buffer
		switch mediaType {
		case oci.MediaTypeLayerGzip:
			zw, _ := gzipWriter(&buf)
			io.Copy(zw, bombTar(t, n))
			zw.Close()
		case oci.MediaTypeLayerZstd:
			zw, _ := zstdWriter(&buf)
			io.Copy(zw, bombTar(t, n))
			zw.Close()
		}
		return layer{mediaType: mediaType, blob: buf.Bytes(), diffID: digest.Digest("sha256:" + strings.Repeat("0", 64))}
	}
	tests := []struct {
		name    string
		layer   func(t *testing.T) layer
		opts    analyze.Options
		wantErr error
	}{
		{"dot-dot path", func(t *testing.T) layer { return gzLayer(t, file("a/../../etc/passwd", "x")) }, analyze.Options{}, errdef.ErrInvalid},
		{"dot-dot whiteout", func(t *testing.T) layer { return plainLayer(t, file("../.wh.x", "")) }, analyze.Options{}, errdef.ErrInvalid},
		{"dot-dot hard link", func(t *testing.T) layer {
			return plainLayer(t, tf{name: "l", typ: tar.TypeLink, body: "../../x"})
		}, analyze.Options{}, errdef.ErrInvalid},
		{"unknown compression", func(t *testing.T) layer {
			l := gzLayer(t, file("a", "a"))
			l.mediaType = "application/vnd.oci.image.layer.v1.tar+lz4"
			return l
		}, analyze.Options{}, errdef.ErrUnsupported},
		{"not a tar", func(t *testing.T) layer {
			return layer{oci.MediaTypeLayerGzip, gz(t, []byte("hello, not a tar at all, but long enough to need a header block")), ""}
		}, analyze.Options{}, errdef.ErrInvalid},
		{"gzip bomb over the size cap", func(t *testing.T) layer { return bomb(t, oci.MediaTypeLayerGzip, 1<<30) }, analyze.Options{MaxLayerSize: 8 << 20}, errdef.ErrTooLarge},
		{"zstd bomb over the ratio", func(t *testing.T) layer { return bomb(t, oci.MediaTypeLayerZstd, 1<<30) }, analyze.Options{}, errdef.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := newImage(t, "", tt.layer(t))
			_, err := analyze.Files(ctx, img.src, "v1", tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Files: err = %v, want %v", err, tt.wantErr)
			}
			var b bytes.Buffer
			if err := analyze.Export(ctx, img.src, "v1", &b, tt.opts); !errors.Is(err, tt.wantErr) {
				t.Errorf("Export: err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestCorruptLayerFailsFiles(t *testing.T) {
	img := whiteoutImage(t)
	img.corrupt(t, img.layers[2])
	if _, err := analyze.Files(context.Background(), img.src, "v1", analyze.Options{}); !errors.Is(err, errdef.ErrDigestMismatch) {
		t.Errorf("err = %v, want a digest mismatch", err)
	}
}

// TestExportParentsFirst: a directory an upper layer redefines is written
// once, from the upper layer, before the files a lower layer put in it;
// layers are written top-down, as crane export orders them.
func TestExportParentsFirst(t *testing.T) {
	ctx := context.Background()
	img := newImage(t, oci.MediaTypeImageManifest,
		plainLayer(t, dir("etc"), file("etc/base1", "1"), dir("etc/sub"), file("etc/sub/deep", "d"), file("etc/base2", "2")),
		plainLayer(t, dir("etc"), dir("etc/sub"), file("etc/top", "t")))
	var buf bytes.Buffer
	if err := analyze.Export(ctx, img.src, "v1", &buf, analyze.Options{}); err != nil {
		t.Fatal(err)
	}
	order, _ := readTar(t, &buf)
	want := []string{"etc/", "etc/sub/", "etc/top", "etc/base1", "etc/sub/deep", "etc/base2"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("export order (-want +got):\n%s", diff)
	}
}

// readTar returns the entry names of a tar in order, and each one's content
// by name (a trailing "/" trimmed); a name written twice is an error.
func readTar(t *testing.T, r io.Reader) ([]string, map[string]string) {
	t.Helper()
	var order []string
	content := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return order, content
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		name := strings.TrimSuffix(h.Name, "/")
		if _, dup := content[name]; dup {
			t.Errorf("%s written twice", name)
		}
		content[name] = string(b)
		order = append(order, h.Name)
	}
}
