package analyze_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stevedore-dev/stevedore/engine/analyze"
)

func hardlink(name, target string) tf { return tf{name: name, typ: tar.TypeLink, body: target} }

// TestExportMerge runs the merge rules through Export, one layer stack per
// case (base layer first). Each export is checked against the merged tree
// (Files, with ReadFile for contents: the tree the two-pass export copied),
// so the set of entries, their types, modes, owners, sizes, link targets and
// contents stay what they were; want pins the entries as "path type
// content-or-target" lines (directories end in "/"), in tar order.
func TestExportMerge(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]tf
		want   []string
		// notTree marks the cases where Export deliberately differs from
		// the tree, with why.
		notTree string
	}{
		{
			name:   "single layer: its entries minus the markers",
			layers: [][]tf{{dir("a/"), file("a/x", "x"), file("a/.wh.y", ""), file(".wh..wh..opq", ""), file("a/.wh..wh..opq", ""), symlink("s", "a/x")}},
			want:   []string{"a/ dir", "a/x file x", "s symlink a/x"},
		},
		{
			name: "whiteout of a file and of a directory",
			layers: [][]tf{
				{file("f", "f"), file("g", "g"), dir("d/"), dir("d/e/"), file("d/e/x", "x")},
				{file(".wh.f", ""), file(".wh.d", "")},
			},
			want: []string{"g file g"},
		},
		{
			name: "opaque directory: its layer's entries stay, lower ones go",
			layers: [][]tf{
				{dir("d/"), file("d/old", "old"), dir("d/sub/"), file("d/sub/x", "x"), file("keep", "k")},
				{dir("d/"), file("d/.wh..wh..opq", ""), file("d/new", "new")},
			},
			want: []string{"d/ dir", "d/new file new", "keep file k"},
		},
		{
			name: "file replaced by a directory",
			layers: [][]tf{
				{file("a", "was a file"), file("b", "b")},
				{dir("a/"), file("a/x", "x")},
			},
			want: []string{"a/ dir", "a/x file x", "b file b"},
		},
		{
			name: "file replaced by a directory only its children imply",
			layers: [][]tf{
				{file("a", "was a file")},
				{file("a/x", "x")},
			},
			want: []string{"a/x file x"},
		},
		{
			name: "directory replaced by a file",
			layers: [][]tf{
				{dir("a/"), file("a/x", "x"), dir("a/sub/"), file("a/sub/y", "y")},
				{file("a", "now a file")},
			},
			want: []string{"a file now a file"},
		},
		{
			name: "directory replaced by a file, then by a directory again",
			layers: [][]tf{
				{dir("a/"), file("a/x", "x")},
				{file("a", "file")},
				{dir("a/"), file("a/y", "y")},
			},
			want: []string{"a/ dir", "a/y file y"},
		},
		{
			name: "an upper directory's header wins, lower files stay",
			layers: [][]tf{
				{dir("etc/"), file("etc/base", "b")},
				{dir("etc/"), file("etc/top", "t")},
			},
			want: []string{"etc/ dir", "etc/top file t", "etc/base file b"},
		},
		{
			name: "hard link to a lower layer's file follows its target",
			layers: [][]tf{
				{file("bin/t", "target")},
				{hardlink("bin/l", "bin/t"), file("other", "o")},
			},
			want: []string{"other file o", "bin/t file target", "bin/l link bin/t"},
		},
		{
			name: "hard link to a file an upper layer replaced points at the replacement",
			layers: [][]tf{
				{file("t", "old")},
				{hardlink("l", "t")},
				{file("t", "new")},
			},
			want: []string{"t file new", "l link t"},
		},
		{
			name: "chain of hard links across three layers",
			layers: [][]tf{
				{file("t", "target")},
				{hardlink("m", "t")},
				{hardlink("l", "m")},
			},
			want: []string{"t file target", "m link t", "l link m"},
		},
		{
			name: "hard link before its target in its own layer",
			layers: [][]tf{
				{hardlink("l", "/t"), file("t", "target")},
			},
			want: []string{"t file target", "l link t"},
		},
		{
			name: "hard link whose target is whited out is written last, as its layer wrote it",
			layers: [][]tf{
				{file("t", "target"), file("z", "z")},
				{hardlink("l", "t")},
				{file(".wh.t", "")},
			},
			want: []string{"z file z", "l link t"},
		},
		{
			name: "symlinks are copied as they are",
			layers: [][]tf{
				{symlink("s", "/etc/old"), file("etc/old", "o")},
				{symlink("s", "../etc/new"), symlink("dangling", "nowhere")},
			},
			want: []string{"s symlink ../etc/new", "dangling symlink nowhere", "etc/old file o"},
		},
		{
			name: "a path re-added after a whiteout",
			layers: [][]tf{
				{file("a", "1"), dir("d/"), file("d/x", "x")},
				{file(".wh.a", ""), file(".wh.d", "")},
				{file("a", "3"), dir("d/"), file("d/y", "y")},
			},
			want: []string{"a file 3", "d/ dir", "d/y file y"},
		},
		{
			name: "whiteout and re-add in the same layer",
			layers: [][]tf{
				{dir("a/"), file("a/x", "x")},
				{file(".wh.a", ""), dir("a/"), file("a/y", "y")},
			},
			want: []string{"a/ dir", "a/y file y"},
		},
		{
			name: "opaque root",
			layers: [][]tf{
				{file("gone", "g")},
				{file(".wh..wh..opq", ""), file("here", "h")},
			},
			want: []string{"here file h"},
		},
		{
			name: "a directory only a lower layer defines follows the upper files in it",
			layers: [][]tf{
				{dir("usr/"), file("usr/lib", "l")},
				{file("usr/bin", "b")},
			},
			want: []string{"usr/bin file b", "usr/ dir", "usr/lib file l"},
		},
		{
			name: "a path twice in one layer: the first wins",
			layers: [][]tf{
				{file("a", "first"), file("a", "second")},
			},
			want:    []string{"a file first"},
			notTree: "Files keeps the last entry; one pass cannot take back what it wrote",
		},
		{
			name: "a file replacing a directory no layer wrote an entry for",
			layers: [][]tf{
				{file("a/x", "x")},
				{file("a", "file")},
			},
			want:    []string{"a file file"},
			notTree: "Files keeps a/x under the file a, as it only drops what is under a directory entry",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var ls []layer
			for _, l := range tt.layers {
				ls = append(ls, gzLayer(t, l...))
			}
			img := newImage(t, "", ls...)
			var buf bytes.Buffer
			if err := analyze.Export(ctx, img.src, "v1", &buf, analyze.Options{}); err != nil {
				t.Fatal(err)
			}
			got := exportedEntries(t, buf.Bytes())
			var lines []string
			for _, e := range got {
				lines = append(lines, e.Line)
			}
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("export (-want +got):\n%s", diff)
			}
			if tt.notTree == "" {
				if diff := cmp.Diff(treeEntries(t, img), byPath(got)); diff != "" {
					t.Errorf("export differs from the merged tree (-tree +export):\n%s", diff)
				}
			}
		})
	}
}

// exported is one entry of an exported tar.
type exported struct {
	Line string // "path type content-or-target", as TestExportMerge's want
	Meta string // mode, owner, size, mtime
}

// exportedEntries reads an export: its entries in order. It fails the test
// if a path is written twice or a hard link precedes its target.
func exportedEntries(t *testing.T, b []byte) []exported {
	t.Helper()
	var out []exported
	var links []string // targets not written before a link to them
	seen := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			for _, l := range links {
				if seen[l] {
					t.Errorf("a hard link to %s precedes it", l)
				}
			}
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		name := strings.TrimSuffix(h.Name, "/")
		if seen[name] {
			t.Errorf("%s written twice", name)
		}
		seen[name] = true
		var line string
		switch h.Typeflag {
		case tar.TypeDir:
			line = name + "/ dir"
		case tar.TypeReg:
			line = name + " file " + string(body)
		case tar.TypeSymlink:
			line = name + " symlink " + h.Linkname
		case tar.TypeLink:
			line = name + " link " + h.Linkname
			if !seen[h.Linkname] {
				links = append(links, h.Linkname)
			}
		default:
			line = fmt.Sprintf("%s type %c", name, h.Typeflag)
		}
		out = append(out, exported{Line: line, Meta: fmt.Sprintf("%o %d:%d %d %d", h.Mode, h.Uid, h.Gid, h.Size, h.ModTime.Unix())})
	}
}

// byPath keys exported entries by path, order dropped.
func byPath(es []exported) map[string]exported {
	m := map[string]exported{}
	for _, e := range es {
		m[strings.TrimSuffix(strings.Fields(e.Line)[0], "/")] = e
	}
	return m
}

// treeEntries is what the merged tree says the export holds: Files for the
// metadata, ReadFile for each regular file's content.
func treeEntries(t *testing.T, img *image) map[string]exported {
	t.Helper()
	ctx := context.Background()
	files, err := analyze.Files(ctx, img.src, "v1", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]exported{}
	for _, f := range files {
		var line string
		switch f.Type {
		case analyze.TypeDir:
			line = f.Path + "/ dir"
		case analyze.TypeFile:
			rc, err := analyze.ReadFile(ctx, img.src, "v1", f.Path, analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			line = f.Path + " file " + readAll(t, rc)
		case analyze.TypeSymlink:
			line = f.Path + " symlink " + f.Linkname
		case analyze.TypeHardlink:
			line = f.Path + " link " + path.Clean(f.Linkname)
		default:
			line = f.Path + " " + f.Type
		}
		m[f.Path] = exported{Line: line, Meta: fmt.Sprintf("%o %d:%d %d %d", f.Mode, f.UID, f.GID, f.Size, f.ModTime.Unix())}
	}
	return m
}
