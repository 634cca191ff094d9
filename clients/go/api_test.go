package stevedoreclient_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// filesRef is the fixture image with a real tar layer.
func filesRef() string { return fx.Ref(":" + fixture.TagFiles) }

// scratchCopy copies the files image into a layout of the test's own, so
// writes (signatures, tags, mutations) leave the shared fixture alone.
func scratchCopy(t *testing.T, c *stevedoreclient.Client) string {
	t.Helper()
	ref := "oci:" + filepath.Join(t.TempDir(), "layout") + ":v1"
	if _, err := c.Copy(context.Background(), filesRef(), ref, stevedoreclient.CopyOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	c := dial(t, addr)
	ref := scratchCopy(t, c)
	good, err := c.GenerateKeyPair(ctx, "good", "pw")
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.GenerateKeyPair(ctx, "other", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateKeyPair(ctx, "good", "pw"); !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Errorf("second GenerateKeyPair(good): %v, want ErrAlreadyExists", err)
	}
	signed, err := c.Sign(ctx, &stevedorev1.SignRequest{Ref: ref, KeyId: "good", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if got := signed.GetSignatures()[0].GetSubject().GetDigest(); got != fx.FilesImage.Digest.String() {
		t.Errorf("signed %s, want %s", got, fx.FilesImage.Digest)
	}
	for _, tc := range []struct {
		name string
		req  *stevedorev1.VerifyRequest
		want bool
	}{
		{"key id", &stevedorev1.VerifyRequest{Ref: ref, KeyIds: []string{"good"}}, true},
		{"public key", &stevedorev1.VerifyRequest{Ref: ref, PublicKeys: []string{good.GetPublicKeyPem()}}, true},
		{"wrong key", &stevedorev1.VerifyRequest{Ref: ref, PublicKeys: []string{other.GetPublicKeyPem()}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := c.Verify(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if rep.GetVerified() != tc.want || len(rep.GetFindings()) == 0 {
				t.Errorf("verified %v with %d findings, want %v", rep.GetVerified(), len(rep.GetFindings()), tc.want)
			}
		})
	}
	if _, err := c.Attest(ctx, &stevedorev1.AttestRequest{Ref: ref, KeyId: "good", Password: "pw",
		PredicateType: "https://example.com/test/v1", Predicate: `{"ok":true}`}); err != nil {
		t.Fatal(err)
	}
	att, err := c.VerifyAttestation(ctx, &stevedorev1.VerifyAttestationRequest{Ref: ref, KeyIds: []string{"good"}, PredicateType: "https://example.com/test/v1"})
	if err != nil || !att.GetVerified() {
		t.Errorf("VerifyAttestation: %v, %v", att.GetVerified(), err)
	}
	tree, err := c.Tree(ctx, ref)
	if err != nil || len(tree.GetSignatures()) != 1 || len(tree.GetAttestations()) != 1 {
		t.Errorf("Tree: %v, %v", tree, err)
	}
}

func TestAnalyze(t *testing.T) {
	ctx := context.Background()
	c := dial(t, addr)
	var paths []string
	for f, err := range c.ListFiles(ctx, &stevedorev1.ListFilesRequest{Ref: filesRef()}) {
		if err != nil {
			t.Fatal(err)
		}
		if f.GetType() == "file" || f.GetType() == "regular" || f.GetSize() > 0 {
			paths = append(paths, strings.TrimPrefix(f.GetPath(), "/"))
		}
	}
	if want := []string{"bin/app", "etc/hello.txt"}; !slices.Equal(paths, want) {
		t.Errorf("ListFiles: %q, want %q", paths, want)
	}
	for _, err := range c.ListFiles(ctx, &stevedorev1.ListFilesRequest{Ref: fx.Ref(":missing")}) {
		if !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("ListFiles(missing): %v, want ErrNotFound", err)
		}
	}

	var buf bytes.Buffer
	if _, err := c.ReadFile(ctx, filesRef(), "", "/etc/hello.txt", &buf); err != nil || buf.String() != fixture.Files["etc/hello.txt"] {
		t.Errorf("ReadFile: %q, %v", buf.String(), err)
	}
	buf.Reset()
	n, err := c.Export(ctx, filesRef(), "", &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("Export: %d, %v", n, err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		names = append(names, h.Name)
	}
	if !slices.Contains(names, "etc/hello.txt") {
		t.Errorf("Export tar: %q, want etc/hello.txt among them", names)
	}

	if v, err := c.Validate(ctx, filesRef()); err != nil || !v.GetValid() {
		t.Errorf("Validate: %v, %v", v, err)
	}
	if s, err := c.Size(ctx, filesRef(), ""); err != nil || len(s.GetLayers()) != 1 {
		t.Errorf("Size: %v, %v", s, err)
	}
	if h, err := c.History(ctx, filesRef(), ""); err != nil || len(h) != 1 || h[0].GetCreatedBy() != "fixture: add files" {
		t.Errorf("History: %v, %v", h, err)
	}
}

func TestMutateTag(t *testing.T) {
	ctx := context.Background()
	c := dial(t, addr)
	src := scratchCopy(t, c)
	dst := strings.TrimSuffix(src, ":v1") + ":mutated"
	res, err := c.Mutate(ctx, &stevedorev1.MutateRequest{Ref: src, Destination: dst, Labels: map[string]string{"org.example.mutated": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetDigest() == fx.FilesImage.Digest.String() || res.GetSourceDigest() != fx.FilesImage.Digest.String() {
		t.Errorf("Mutate: digest %s from %s; want a new digest from %s", res.GetDigest(), res.GetSourceDigest(), fx.FilesImage.Digest)
	}
	if info, err := c.Inspect(ctx, src, ""); err != nil || info.GetDigest() != fx.FilesImage.Digest.String() {
		t.Errorf("source after Mutate: %v, %v; want it unchanged", info.GetDigest(), err)
	}
	d, err := c.Diff(ctx, src, dst, "")
	if err != nil || len(d.GetConfig()) == 0 || len(d.GetAdded())+len(d.GetRemoved())+len(d.GetChanged()) != 0 {
		t.Errorf("Diff: %v, %v; want config changes only", d, err)
	}

	tagged := strings.TrimSuffix(src, ":v1") + ":extra"
	if _, err := c.Tag(ctx, dst, "extra"); err != nil {
		t.Fatal(err)
	}
	if info, err := c.Inspect(ctx, tagged, ""); err != nil || info.GetDigest() != res.GetDigest() {
		t.Errorf("after Tag: %v, %v", info.GetDigest(), err)
	}
	if err := c.Untag(ctx, tagged); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Inspect(ctx, tagged, ""); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("after Untag: %v, want ErrNotFound", err)
	}
}

func TestArtifactRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := dial(t, addr)
	in := t.TempDir()
	files := map[string]string{"a.txt": "alpha\n", "big.bin": strings.Repeat("0123456789abcdef", 200_000)} // > 1 MiB: several chunks each way
	var paths []string
	for name, content := range files {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	ref := "oci:" + filepath.Join(t.TempDir(), "art") + ":v1"
	m, err := c.PushArtifact(ctx, ref, "application/vnd.example.test", map[string]string{"k": "v"}, paths...)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	pulled, err := c.PullArtifact(ctx, ref, out)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.Manifest.GetDigest() != m.GetDigest() || len(pulled.Files) != len(files) {
		t.Errorf("pulled %v, pushed %s", pulled, m.GetDigest())
	}
	for name, content := range files {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != content {
			t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, len(content))
		}
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode(), err)
		}
	}

	// The artifact's subject: attach-free discovery still answers the root.
	root, err := c.DiscoverReferrers(ctx, ref, "", 0)
	if err != nil || root.GetDescriptor_().GetDigest() != m.GetDigest() {
		t.Errorf("DiscoverReferrers: %v, %v", root, err)
	}
}

func TestDistribution(t *testing.T) {
	if dist == "" {
		t.Skip("no distribution registry binary")
	}
	ctx := context.Background()
	c := dial(t, addr)
	ref := dist + "/fixture/files:v1"
	info, err := c.Inspect(ctx, ref, "")
	if err != nil || info.GetDigest() != fx.FilesImage.Digest.String() {
		t.Fatalf("Inspect %s: %v, %v", ref, info.GetDigest(), err)
	}
	m, err := c.GetManifest(ctx, ref)
	if err != nil || digest.FromBytes(m.GetRaw()) != fx.FilesImage.Digest {
		t.Fatalf("GetManifest %s: %v", ref, err)
	}
	layer := info.GetLayers()[0]
	rc, err := c.OpenBlob(ctx, dist+"/fixture/files@"+layer.GetDigest())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != layer.GetSize() {
		t.Errorf("OpenBlob: %d bytes, %v; want %d", n, err, layer.GetSize())
	}
	if _, err := c.Inspect(ctx, dist+"/fixture/files:missing", ""); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("missing tag: %v, want ErrNotFound", err)
	}
}
