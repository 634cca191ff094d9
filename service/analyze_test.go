package service

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine/build"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// layerEntry is one entry of a test layer.
type layerEntry struct {
	name string
	body string
	mode int64
	typ  byte
}

// layerTar writes entries as a plain tar.
func layerTar(t *testing.T, entries ...layerEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeDir {
			h.Size, h.Mode = 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layers of the image fixture: the base, and a layer that deletes a file,
// replaces one and adds one (image-spec layer.md whiteouts).
var (
	baseLayer = []layerEntry{
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/os-release", body: "ID=base\n"},
		{name: "bin/", typ: tar.TypeDir},
		{name: "bin/app", body: "#!/bin/sh\necho hi\n", mode: 0o755},
		{name: "tmp/", typ: tar.TypeDir},
		{name: "tmp/gone", body: "soon deleted"},
	}
	topLayer = []layerEntry{
		{name: "etc/os-release", body: "ID=top\n"},
		{name: "tmp/.wh.gone"},
		{name: "new.txt", body: "new"},
	}
	otherBaseLayer = []layerEntry{
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/os-release", body: "ID=other\n"},
	}
)

// imageFixture is an OCI layout of real images built by engine/build:
// "base" (baseLayer), "app" (base + topLayer, recording base as its base)
// and "other" (otherBaseLayer), all linux/amd64.
type imageFixture struct {
	dir string
}

func (f *imageFixture) ref(id string) string { return "oci:" + f.dir + id }

func newImageFixture(t *testing.T) *imageFixture {
	t.Helper()
	ctx := context.Background()
	f := &imageFixture{dir: filepath.Join(t.TempDir(), "layout")}
	fs, err := store.CreateFS(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	l := layout.New(fs)
	opts := func(layers ...[]layerEntry) build.Options {
		o := build.Options{Platform: "linux/amd64", Reproducible: true, TempDir: t.TempDir()}
		for _, es := range layers {
			o.Layers = append(o.Layers, build.Input{Reader: bytes.NewReader(layerTar(t, es...))})
		}
		return o
	}
	if _, err := build.Build(ctx, l, "base", nil, opts(baseLayer)); err != nil {
		t.Fatal(err)
	}
	if _, err := build.Build(ctx, l, "app", &build.Base{Source: l, Ref: "base", Name: "example.com/base:v1"}, opts(topLayer)); err != nil {
		t.Fatal(err)
	}
	if _, err := build.Build(ctx, l, "other", nil, opts(otherBaseLayer)); err != nil {
		t.Fatal(err)
	}
	return f
}

// recvAll reads a server stream to its end.
func recvAll[T any](t *testing.T, s grpc.ServerStreamingClient[T]) ([]*T, error) {
	t.Helper()
	var out []*T
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

func expectCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
}

func listFiles(t *testing.T, c stevedorev1.ImageServiceClient, req *stevedorev1.ListFilesRequest) []*stevedorev1.FileInfo {
	t.Helper()
	s, err := c.ListFiles(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := recvAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var files []*stevedorev1.FileInfo
	for _, m := range msgs {
		files = append(files, m.GetFiles()...)
	}
	return files
}

func paths(files []*stevedorev1.FileInfo) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.GetType()+" "+f.GetPath())
	}
	return out
}

func TestListFiles(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	one := int32(1)
	for _, tc := range []struct {
		name string
		req  *stevedorev1.ListFilesRequest
		want []string
	}{
		{"merged", &stevedorev1.ListFilesRequest{Ref: f.ref(":app")},
			[]string{"dir bin", "file bin/app", "dir etc", "file etc/os-release", "file new.txt", "dir tmp"}},
		{"one layer", &stevedorev1.ListFilesRequest{Ref: f.ref(":app"), Layer: &one},
			[]string{"file etc/os-release", "file new.txt", "whiteout tmp/gone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := paths(listFiles(t, c, tc.req)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		s, err := c.ListFiles(context.Background(), &stevedorev1.ListFilesRequest{Ref: f.ref(":nope")})
		if err == nil {
			_, err = recvAll(t, s)
		}
		expectCode(t, err, codes.NotFound)
	})
}

// readStream concatenates the data of a chunk stream, checking offsets.
func readStream[T interface {
	GetOffset() int64
	GetData() []byte
}](t *testing.T, msgs []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, m := range msgs {
		if m.GetOffset() != int64(buf.Len()) {
			t.Fatalf("chunk at offset %d, want %d", m.GetOffset(), buf.Len())
		}
		if len(m.GetData()) > ChunkSize {
			t.Fatalf("chunk of %d bytes", len(m.GetData()))
		}
		buf.Write(m.GetData())
	}
	return buf.Bytes()
}

func TestReadFile(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	for _, tc := range []struct {
		name, tag, path string
		want            string
		code            codes.Code
		reason          string
	}{
		{"replaced", ":app", "/etc/os-release", "ID=top\n", codes.OK, ""},
		{"from base", ":app", "bin/app", "#!/bin/sh\necho hi\n", codes.OK, ""},
		// A path the image lacks is not an unknown manifest (it used to
		// say MANIFEST_UNKNOWN): not found, with no OCI code.
		{"deleted", ":app", "/tmp/gone", "", codes.NotFound, ""},
		{"no such image", ":nope", "/etc/os-release", "", codes.NotFound, "MANIFEST_UNKNOWN"},
		{"directory", ":app", "/etc", "", codes.InvalidArgument, ""},
		{"no path", ":app", "", "", codes.InvalidArgument, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := c.ReadFile(context.Background(), &stevedorev1.ReadFileRequest{Ref: f.ref(tc.tag), Path: tc.path})
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := recvAll(t, s)
			if tc.code != codes.OK {
				checkStatus(t, err, tc.code, tc.reason)
				return
			}
			if got := string(readStream(t, msgs)); err != nil || got != tc.want {
				t.Errorf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestExport(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	s, err := c.Export(context.Background(), &stevedorev1.ExportRequest{Ref: f.ref(":app")})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := recvAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(readStream(t, msgs)))
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	want := map[string]string{"bin/": "", "bin/app": "#!/bin/sh\necho hi\n", "etc/": "", "etc/os-release": "ID=top\n", "new.txt": "new", "tmp/": ""}
	if len(got) != len(want) {
		t.Fatalf("exported %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestValidateDiffSizeHistory(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	ctx := context.Background()

	t.Run("validate", func(t *testing.T) {
		rep, err := c.Validate(ctx, &stevedorev1.ValidateRequest{Ref: f.ref(":app")})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.GetValid() || len(rep.GetProblems()) != 0 || rep.GetChecked() == 0 {
			t.Errorf("report %v", rep)
		}
	})
	t.Run("validate bad ref", func(t *testing.T) {
		_, err := c.Validate(ctx, &stevedorev1.ValidateRequest{Ref: "oci:"})
		expectCode(t, err, codes.InvalidArgument)
	})
	t.Run("diff", func(t *testing.T) {
		d, err := c.Diff(ctx, &stevedorev1.DiffRequest{Ref: f.ref(":base"), OtherRef: f.ref(":app")})
		if err != nil {
			t.Fatal(err)
		}
		if d.GetSharedLayers() != 1 || paths(d.GetAdded())[0] != "file new.txt" || paths(d.GetRemoved())[0] != "file tmp/gone" ||
			len(d.GetChanged()) != 1 || d.GetChanged()[0].GetPath() != "etc/os-release" {
			t.Errorf("diff %v", d)
		}
	})
	t.Run("size", func(t *testing.T) {
		sz, err := c.Size(ctx, &stevedorev1.SizeRequest{Ref: f.ref(":app")})
		if err != nil {
			t.Fatal(err)
		}
		if len(sz.GetLayers()) != 2 || sz.GetCompressed() == 0 || sz.GetWasted() == 0 {
			t.Errorf("size %v", sz)
		}
	})
	t.Run("history", func(t *testing.T) {
		h, err := c.History(ctx, &stevedorev1.HistoryRequest{Ref: f.ref(":app")})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.GetEntries()) != 2 || h.GetEntries()[1].GetLayer() != 1 || h.GetEntries()[1].GetDigest() == "" {
			t.Errorf("history %v", h)
		}
	})
}
