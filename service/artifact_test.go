package service

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// artifactFile is a file a test streams into an artifact.
type artifactFile struct {
	name string
	mode uint32
	data []byte
}

// sendFiles streams files through send in messages of at most chunk bytes,
// first carrying the options.
func sendFiles[T any](send func(*T) error, first *T, set func(m *T, h *stevedorev1.ArtifactFileHeader, data []byte), files []artifactFile, chunk int) error {
	if err := send(first); err != nil {
		return err
	}
	for _, f := range files {
		data := f.data
		m := new(T)
		set(m, &stevedorev1.ArtifactFileHeader{Name: f.name, Mode: f.mode}, nil)
		for {
			n := min(len(data), chunk)
			set(m, nil, data[:n])
			if err := send(m); err != nil {
				return err
			}
			if data = data[n:]; len(data) == 0 {
				break
			}
			m = new(T)
		}
	}
	return nil
}

func pushArtifact(t *testing.T, c stevedorev1.ImageServiceClient, first *stevedorev1.PushArtifactRequest, files []artifactFile) (*stevedorev1.PushArtifactResponse, error) {
	t.Helper()
	s, err := c.PushArtifact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	set := func(m *stevedorev1.PushArtifactRequest, h *stevedorev1.ArtifactFileHeader, data []byte) {
		if h != nil {
			m.File = h
		}
		m.Data = data
	}
	if err := sendFiles(s.Send, first, set, files, 300<<10); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return s.CloseAndRecv()
}

// pullArtifact reads a pull stream back into files.
func pullArtifact(t *testing.T, c stevedorev1.ImageServiceClient, ref string) ([]artifactFile, *stevedorev1.PullArtifactResponse, error) {
	t.Helper()
	s, err := c.PullArtifact(context.Background(), &stevedorev1.PullArtifactRequest{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := recvAll(t, s)
	if err != nil || len(msgs) == 0 {
		return nil, nil, err
	}
	var files []artifactFile
	for _, m := range msgs {
		if h := m.GetFile(); h != nil {
			files = append(files, artifactFile{name: h.GetName(), mode: h.GetMode()})
		}
		if len(m.GetData()) > 0 {
			cur := &files[len(files)-1]
			if m.GetOffset() != int64(len(cur.data)) {
				t.Fatalf("%s: chunk at %d, want %d", cur.name, m.GetOffset(), len(cur.data))
			}
			cur.data = append(cur.data, m.GetData()...)
		}
	}
	return files, msgs[0], nil
}

func TestArtifacts(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 200<<10) // 3.2 MiB: several messages each way
	files := []artifactFile{
		{name: "README.md", mode: 0o644, data: []byte("# hello\n")},
		{name: "bin/tool", mode: 0o755, data: big},
	}
	res, err := pushArtifact(t, c, &stevedorev1.PushArtifactRequest{Ref: f.ref(":art"), ArtifactType: "application/x.test"}, files)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetManifest().GetArtifactType() != "application/x.test" {
		t.Errorf("pushed %v", res)
	}

	t.Run("pull", func(t *testing.T) {
		got, first, err := pullArtifact(t, c, f.ref(":art"))
		if err != nil {
			t.Fatal(err)
		}
		if first.GetManifest().GetDigest() != res.GetManifest().GetDigest() || len(got) != len(files) {
			t.Fatalf("pulled %d files, manifest %v", len(got), first.GetManifest())
		}
		for i := range files {
			if got[i].name != files[i].name || got[i].mode != files[i].mode || !bytes.Equal(got[i].data, files[i].data) {
				t.Errorf("file %d: got %s %o (%d bytes), want %s %o (%d bytes)", i, got[i].name, got[i].mode, len(got[i].data), files[i].name, files[i].mode, len(files[i].data))
			}
		}
	})

	t.Run("attach and discover", func(t *testing.T) {
		s, err := c.AttachArtifact(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(&stevedorev1.AttachArtifactRequest{Ref: f.ref(":app"), ArtifactType: "application/spdx+json",
			File: &stevedorev1.ArtifactFileHeader{Name: "sbom.json"}, Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		att, err := s.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, artifactType string
			want               int
		}{{"all", "", 1}, {"filtered", "application/x.other", 0}} {
			t.Run(tc.name, func(t *testing.T) {
				tree, err := c.DiscoverReferrers(ctx, &stevedorev1.DiscoverReferrersRequest{Ref: f.ref(":app"), ArtifactType: tc.artifactType})
				if err != nil {
					t.Fatal(err)
				}
				refs := tree.GetRoot().GetReferrers()
				if len(refs) != tc.want || (tc.want == 1 && refs[0].GetDescriptor_().GetDigest() != att.GetManifest().GetDigest()) {
					t.Errorf("referrers %v", refs)
				}
			})
		}
	})

	for _, tc := range []struct {
		name  string
		first *stevedorev1.PushArtifactRequest
		files []artifactFile
		code  codes.Code
	}{
		{"no files", &stevedorev1.PushArtifactRequest{Ref: f.ref(":empty")}, nil, codes.InvalidArgument},
		{"escaping title", &stevedorev1.PushArtifactRequest{Ref: f.ref(":bad")}, []artifactFile{{name: "../etc/passwd", data: []byte("x")}}, codes.InvalidArgument},
		{"bad mode", &stevedorev1.PushArtifactRequest{Ref: f.ref(":bad")}, []artifactFile{{name: "x", mode: 0o4755, data: []byte("x")}}, codes.InvalidArgument},
		{"data first", &stevedorev1.PushArtifactRequest{Ref: f.ref(":bad"), Data: []byte("x")}, nil, codes.InvalidArgument},
		{"digest target", &stevedorev1.PushArtifactRequest{Ref: f.ref("@sha256:" + strings.Repeat("0", 64))}, []artifactFile{{name: "x", data: []byte("x")}}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pushArtifact(t, c, tc.first, tc.files)
			expectCode(t, err, tc.code)
		})
	}
	t.Run("pull missing", func(t *testing.T) {
		_, _, err := pullArtifact(t, c, f.ref(":nope"))
		expectCode(t, err, codes.NotFound)
	})
}

func TestAppend(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	layer := layerTar(t, layerEntry{name: "added/file", body: string(bytes.Repeat([]byte("x"), 100<<10))})
	appendLayer := func(first *stevedorev1.AppendRequest, data []byte) (*stevedorev1.AppendResponse, error) {
		s, err := c.Append(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		first.Data = data[:min(len(data), 1000)]
		data = data[len(first.Data):]
		err = s.Send(first)
		for err == nil && len(data) > 0 {
			n := min(len(data), 32<<10)
			err = s.Send(&stevedorev1.AppendRequest{Data: data[:n]})
			data = data[n:]
		}
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		return s.CloseAndRecv()
	}
	for _, tc := range []struct {
		name   string
		first  *stevedorev1.AppendRequest
		data   []byte
		code   codes.Code
		layers int
	}{
		{"on a base", &stevedorev1.AppendRequest{Ref: f.ref(":app"), Destination: f.ref(":appended"), Reproducible: true}, layer, codes.OK, 3},
		{"on scratch", &stevedorev1.AppendRequest{Destination: f.ref(":scratch"), Platform: "linux/amd64", Compression: "zstd"}, layer, codes.OK, 1},
		{"no destination", &stevedorev1.AppendRequest{Ref: f.ref(":app")}, layer, codes.InvalidArgument, 0},
		{"escaping path", &stevedorev1.AppendRequest{Destination: f.ref(":bad")}, layerTar(t, layerEntry{name: "../evil", body: "x"}), codes.InvalidArgument, 0},
		{"not a tar", &stevedorev1.AppendRequest{Destination: f.ref(":bad")}, bytes.Repeat([]byte("garbage!"), 200), codes.InvalidArgument, 0},
		{"bad compression", &stevedorev1.AppendRequest{Destination: f.ref(":bad"), Compression: "lz4"}, layer, codes.InvalidArgument, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := appendLayer(tc.first, tc.data)
			expectCode(t, err, tc.code)
			if tc.code != codes.OK {
				return
			}
			dst := tc.first.GetDestination()
			info := inspect(t, c, dst, "")
			if info.GetDigest() != res.GetResult().GetDigest() || len(info.GetLayers()) != tc.layers || len(res.GetLayers()) != 1 {
				t.Fatalf("result %v, image %v", res, info)
			}
			s, err := c.ReadFile(context.Background(), &stevedorev1.ReadFileRequest{Ref: dst, Path: "/added/file"})
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := recvAll(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(readStream(t, msgs)); n != 100<<10 {
				t.Errorf("read back %d bytes", n)
			}
		})
	}
}
