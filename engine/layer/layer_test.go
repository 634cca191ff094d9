package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// tree makes a directory with every kind of entry WriteDir handles, plus a
// secret outside it that links point at. It returns the root.
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(base, "secret"), []byte("SECRET"), 0o600))
	must(os.MkdirAll(filepath.Join(root, "b/sub"), 0o755))
	must(os.Mkdir(filepath.Join(root, "a"), 0o755))
	must(os.Mkdir(filepath.Join(root, "tmp"), 0o755))
	must(os.Chmod(filepath.Join(root, "tmp"), 0o1777|os.ModeSticky))
	must(os.WriteFile(filepath.Join(root, "a/file"), []byte("hello\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "b/sub/run"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chmod(filepath.Join(root, "b/sub/run"), 0o755|os.ModeSetuid))
	must(os.WriteFile(filepath.Join(root, "b/private"), []byte("p"), 0o600))
	must(os.WriteFile(filepath.Join(root, "empty"), nil, 0o644))
	must(os.Link(filepath.Join(root, "a/file"), filepath.Join(root, "b/hardlink")))
	must(os.Symlink("../a/file", filepath.Join(root, "b/rel-link")))
	must(os.Symlink("../secret", filepath.Join(root, "out-link")))
	must(os.Symlink(base, filepath.Join(root, "out-dir")))
	must(os.Symlink("/etc/passwd", filepath.Join(root, "abs-link")))
	return root
}

// dirTar returns WriteDir's tar of dir.
func dirTar(t *testing.T, dir string, opts TarOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteDir(context.Background(), &buf, dir, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// entries reads a tar's headers and contents.
func entries(t *testing.T, b []byte) ([]*tar.Header, map[string]string) {
	t.Helper()
	var hs []*tar.Header
	content := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, content
		}
		if err != nil {
			t.Fatal(err)
		}
		c, _ := io.ReadAll(tr)
		hs = append(hs, h)
		content[h.Name] = string(c)
	}
}

func TestWriteDirReproducible(t *testing.T) {
	root := tree(t)
	opts := TarOptions{Normalize: true}
	first := dirTar(t, root, opts)
	// Touch everything: a reproducible tar must not notice. (Not chown:
	// the kernel clears setuid on it, which the tar must notice.)
	later := time.Now().Add(time.Hour)
	filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error {
		os.Chtimes(p, later, later)
		return nil
	})
	second := dirTar(t, root, opts)
	if !bytes.Equal(first, second) {
		t.Fatal("the same tree gave two different tars")
	}
	hs, content := entries(t, first)
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
	}
	want := []string{"a/", "a/file", "abs-link", "b/", "b/hardlink", "b/private", "b/rel-link", "b/sub/", "b/sub/run", "empty", "out-dir", "out-link", "tmp/"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("entries\n %v\nwant\n %v", names, want)
	}
	byName := map[string]*tar.Header{}
	for _, h := range hs {
		byName[h.Name] = h
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(0, 0)) ||
			!h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) != 0 {
			t.Errorf("%s not normalised: uid %d gid %d %q %q mtime %v pax %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, h.PAXRecords)
		}
	}
	for _, tc := range []struct {
		name     string
		typ      byte
		mode     int64
		linkname string
	}{
		{"a/file", tar.TypeReg, 0o644, ""},
		{"b/hardlink", tar.TypeLink, 0o644, "a/file"},
		{"b/private", tar.TypeReg, 0o600, ""},
		{"b/sub/run", tar.TypeReg, 0o4755, ""},
		{"tmp/", tar.TypeDir, 0o1777, ""},
		{"b/rel-link", tar.TypeSymlink, 0o777, "../a/file"},
		{"out-link", tar.TypeSymlink, 0o777, "../secret"},
		{"abs-link", tar.TypeSymlink, 0o777, "/etc/passwd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := byName[tc.name]
			if h == nil {
				t.Fatal("missing")
			}
			if h.Typeflag != tc.typ || h.Mode != tc.mode || h.Linkname != tc.linkname {
				t.Errorf("type %c mode %o link %q; want %c %o %q", h.Typeflag, h.Mode, h.Linkname, tc.typ, tc.mode, tc.linkname)
			}
		})
	}
	if content["a/file"] != "hello\n" || content["b/hardlink"] != "" {
		t.Errorf("contents: %q", content)
	}
	for n, c := range content {
		if strings.Contains(c, "SECRET") {
			t.Errorf("%s holds the content of a file outside the root", n)
		}
	}
	if byName["out-dir"].Typeflag != tar.TypeSymlink {
		t.Error("a symlink to a directory outside the root was not kept as a link")
	}
}

func TestSourceDateEpoch(t *testing.T) {
	root := tree(t)
	for _, tc := range []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"unset", time.Time{}, time.Unix(0, 0)},
		{"epoch", time.Unix(1700000000, 0), time.Unix(1700000000, 0)},
		{"sub-second", time.Unix(1700000000, 999), time.Unix(1700000000, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, _ := entries(t, dirTar(t, root, TarOptions{Normalize: true, ModTime: tc.at}))
			for _, h := range hs {
				if !h.ModTime.Equal(tc.want) {
					t.Errorf("%s mtime %v, want %v", h.Name, h.ModTime, tc.want)
				}
			}
		})
	}
	a := dirTar(t, root, TarOptions{Normalize: true, ModTime: time.Unix(1, 0)})
	b := dirTar(t, root, TarOptions{Normalize: true, ModTime: time.Unix(2, 0)})
	if bytes.Equal(a, b) {
		t.Error("different SOURCE_DATE_EPOCHs gave the same tar")
	}
}

func TestWriteCompressions(t *testing.T) {
	root := tree(t)
	want := dirTar(t, root, TarOptions{Normalize: true})
	wantDiff := digest.FromBytes(want)
	for _, c := range []Compression{None, Gzip, Zstd} {
		t.Run(string(c), func(t *testing.T) {
			write := func() *File {
				f, err := Write(context.Background(), func(w io.Writer) error {
					return WriteDir(context.Background(), w, root, TarOptions{Normalize: true})
				}, WriteOptions{Compression: c, TempDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			f := write()
			blob, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Desc.Digest != digest.FromBytes(blob) || f.Desc.Size != int64(len(blob)) {
				t.Errorf("descriptor %v does not describe the %d spooled bytes", f.Desc, len(blob))
			}
			if f.DiffID != wantDiff {
				t.Errorf("diff_id %s, want %s", f.DiffID, wantDiff)
			}
			if f.Desc.MediaType != MediaType(c, false) {
				t.Errorf("media type %s", f.Desc.MediaType)
			}
			got, err := CompressionOf(f.Desc.MediaType)
			if err != nil || got != c {
				t.Errorf("CompressionOf(%s) = %v, %v", f.Desc.MediaType, got, err)
			}
			rc, err := NewReader(bytes.NewReader(blob), c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(back, want) {
				t.Errorf("decompressed blob differs from the tar (%v)", err)
			}
			if again := write(); again.Desc.Digest != f.Desc.Digest {
				t.Errorf("second write: %s, first %s", again.Desc.Digest, f.Desc.Digest)
			}
			d, err := Detect(bytes.NewReader(blob))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			io.Copy(h, d)
			if digest.NewDigest(digest.SHA256, h) != wantDiff {
				t.Error("Detect did not undo the compression")
			}
		})
	}
}

// tarOf writes a tar of the given headers (regular files get content "x").
func tarOf(t *testing.T, hs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestCopyTar(t *testing.T) {
	reg := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }
	for _, tc := range []struct {
		name  string
		in    []*tar.Header
		class error  // nil: success
		names string // on success
	}{
		{"clean names", []*tar.Header{{Name: "./", Typeflag: tar.TypeDir}, reg("./a/../b"), {Name: "d", Typeflag: tar.TypeDir}}, nil, "./ b d/"},
		{"dot-dot", []*tar.Header{reg("../evil")}, errdef.ErrInvalid, ""},
		{"nested dot-dot", []*tar.Header{reg("a/../../evil")}, errdef.ErrInvalid, ""},
		{"absolute", []*tar.Header{reg("/etc/passwd")}, errdef.ErrInvalid, ""},
		{"hardlink escape", []*tar.Header{{Name: "l", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"}}, errdef.ErrInvalid, ""},
		{"symlink out kept", []*tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../etc/shadow"}}, nil, "l"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := CopyTar(context.Background(), &out, bytes.NewReader(tarOf(t, tc.in...)), TarOptions{})
			if tc.class != nil {
				var lerr *Error
				if !errors.Is(err, tc.class) || !errors.As(err, &lerr) {
					t.Fatalf("error %v, want a *layer.Error matching %v", err, tc.class)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hs, _ := entries(t, out.Bytes())
			var names []string
			for _, h := range hs {
				names = append(names, h.Name)
			}
			if got := strings.Join(names, " "); got != tc.names {
				t.Errorf("names %q, want %q", got, tc.names)
			}
		})
	}
	if err := CopyTar(context.Background(), io.Discard, strings.NewReader("not a tar, but long enough to have a header block"+strings.Repeat("!", 600)), TarOptions{}); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("garbage input: %v", err)
	}
}

func TestCopyTarNormalize(t *testing.T) {
	h := &tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1000, Uname: "me", Gname: "us",
		ModTime: time.Unix(1600000000, 5), AccessTime: time.Unix(1600000001, 0), ChangeTime: time.Unix(1600000002, 0),
		Format: tar.FormatPAX, PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}}
	in := tarOf(t, h)
	var out bytes.Buffer
	if err := CopyTar(context.Background(), &out, bytes.NewReader(in), TarOptions{Normalize: true, ModTime: time.Unix(42, 0)}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("atime")) || bytes.Contains(out.Bytes(), []byte("ctime")) {
		t.Error("atime or ctime PAX record kept")
	}
	hs, content := entries(t, out.Bytes())
	g := hs[0]
	if g.Uid != 0 || g.Gid != 0 || g.Uname != "" || g.Gname != "" || !g.ModTime.Equal(time.Unix(42, 0)) || g.Mode != 0o640 ||
		g.PAXRecords["SCHILY.xattr.user.k"] != "v" || content["f"] != "x" {
		t.Errorf("normalised header %+v", g)
	}
}
