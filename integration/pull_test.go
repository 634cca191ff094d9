package integration

import (
	"bytes"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	serverOnce sync.Once
	server     *stevedoreServer
	serverErr  error
)

// sharedServer is one `stevedore serve` for the tests that only read remote
// registries or layouts through it.
func sharedServer(t testing.TB) *stevedoreServer {
	t.Helper()
	serverOnce.Do(func() { server, serverErr = startStevedore(pkg, "stevedore-serve", serveOptions{}) })
	if serverErr != nil {
		t.Fatalf("starting stevedore serve: %v", serverErr)
	}
	return server
}

// allViews returns the CLI and, through the shared server, gRPC and REST.
func allViews(t testing.TB) []view {
	s := sharedServer(t)
	return []view{cliView{}, newGRPCView(s), newRESTView(s)}
}

// TestPull checks every interface against crane for every test image:
// manifest bytes, digest, inspect, blobs, tags.
func TestPull(t *testing.T) {
	f := sharedFixtures(t)
	for _, v := range allViews(t) {
		t.Run(v.Name(), func(t *testing.T) {
			t.Parallel()
			for _, img := range f.Images {
				t.Run(img.Name, func(t *testing.T) {
					checkImage(t, v, img, craneSees(t, img.Ref()), img.Ref(), func(d string) string { return img.Repo + "@" + d })
				})
			}
			t.Run("tags", func(t *testing.T) { checkTags(t, v, f) })
		})
	}
}

// checkImage compares what v reports about ref (a copy of img wherever it
// lives; at names its content by digest) with want, normally crane's view of
// img; children, configs and layers are always checked against crane.
func checkImage(t *testing.T, v view, img testImage, want craneView, ref string, at func(digest string) string) {
	t.Run("manifest", func(t *testing.T) {
		for _, ref := range []string{ref, at(want.Digest)} {
			got, err := v.Manifest(ref)
			if err != nil {
				t.Fatalf("manifest %s: %v", ref, err)
			}
			if !bytes.Equal(got, want.Raw) {
				t.Errorf("manifest %s: bytes differ from crane's (%d vs %d bytes; digest %s vs %s)", ref, len(got), len(want.Raw), sha256Digest(got), want.Digest)
			}
		}
	})
	t.Run("inspect", func(t *testing.T) {
		got, err := v.Inspect(ref, "")
		if err != nil {
			t.Fatalf("inspect: %v", err)
		}
		if got.Digest != want.Digest || got.MediaType != want.Manifest.MediaType {
			t.Errorf("inspect: digest %s mediaType %s, crane: %s %s", got.Digest, got.MediaType, want.Digest, want.Manifest.MediaType)
		}
		if !want.Manifest.isIndex() {
			checkDescribed(t, v, img.Repo, got, want)
			return
		}
		var plats []platform
		for _, m := range want.Manifest.Manifests {
			plats = append(plats, *m.Platform)
		}
		if diff := cmp.Diff(plats, got.Platforms); diff != "" {
			t.Errorf("inspect: platforms differ from the index (-crane +%s):\n%s", v.Name(), diff)
		}
		for _, m := range want.Manifest.Manifests {
			p := m.Platform.OS + "/" + m.Platform.Architecture
			if m.Platform.Variant != "" {
				p += "/" + m.Platform.Variant
			}
			t.Run(p, func(t *testing.T) {
				got, err := v.Inspect(ref, p)
				if err != nil {
					t.Fatalf("inspect --platform %s: %v", p, err)
				}
				if got.Digest != want.Digest {
					t.Errorf("inspect --platform %s: digest %s, want the index's %s", p, got.Digest, want.Digest)
				}
				checkDescribed(t, v, img.Repo, got, craneSees(t, img.Repo+"@"+m.Digest))
			})
		}
	})
	t.Run("blobs", func(t *testing.T) {
		if want.Manifest.isIndex() {
			for _, m := range want.Manifest.Manifests {
				got, err := v.Manifest(at(m.Digest))
				if err != nil {
					t.Fatalf("manifest %s: %v", at(m.Digest), err)
				}
				if !bytes.Equal(got, crane(t, "manifest", img.Repo+"@"+m.Digest)) {
					t.Errorf("manifest %s: bytes differ from crane's", at(m.Digest))
				}
			}
			return
		}
		for _, d := range append([]descriptor{*want.Manifest.Config}, want.Manifest.Layers...) {
			var got bytes.Buffer
			if err := v.Blob(at(d.Digest), &got); err != nil {
				t.Fatalf("blob %s: %v", at(d.Digest), err)
			}
			if !bytes.Equal(got.Bytes(), crane(t, "blob", img.Repo+"@"+d.Digest)) {
				t.Errorf("blob %s: %d bytes (digest %s) differ from crane's", at(d.Digest), got.Len(), sha256Digest(got.Bytes()))
			}
		}
	})
}

// checkDescribed compares the manifest part of an inspect result with crane's
// view of that manifest and, for images, its config.
func checkDescribed(t *testing.T, v view, repo string, got inspectOutput, want craneView) {
	t.Helper()
	if got.ManifestDigest != want.Digest {
		t.Errorf("inspect: manifestDigest %s, want %s", got.ManifestDigest, want.Digest)
	}
	if got.ArtifactType != want.Manifest.ArtifactType {
		t.Errorf("inspect: artifactType %q, want %q", got.ArtifactType, want.Manifest.ArtifactType)
	}
	if diff := cmp.Diff(want.Manifest.Annotations, got.Annotations, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("inspect: annotations differ (-crane +%s):\n%s", v.Name(), diff)
	}
	if diff := cmp.Diff(want.Manifest.Layers, got.Layers, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("inspect: layers differ (-crane +%s):\n%s", v.Name(), diff)
	}
	switch want.Manifest.Config.MediaType {
	case "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json":
	default:
		if got.Config != nil {
			t.Errorf("inspect: config %+v reported for a %s config", got.Config, want.Manifest.Config.MediaType)
		}
		return
	}
	if got.Config == nil {
		t.Fatalf("inspect: no config")
	}
	wc := craneConfig(t, repo+"@"+want.Digest)
	// The inspection (CLI and API alike) leaves out the rootfs.
	wc.RootFS = got.Config.RootFS
	if diff := cmp.Diff(wc, *got.Config, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("inspect: config differs (-crane +%s):\n%s", v.Name(), diff)
	}
}

func checkTags(t *testing.T, v view, f *fixtures) {
	repos := []string{f.TagsRepo}
	for _, img := range f.Images {
		if !slices.Contains(repos, img.Repo) {
			repos = append(repos, img.Repo)
		}
	}
	for _, repo := range repos {
		got, err := v.Tags(repo)
		if err != nil {
			t.Fatalf("tags %s: %v", repo, err)
		}
		want := lines(crane(t, "ls", repo))
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("tags %s differ (-crane +%s):\n%s", repo, v.Name(), diff)
		}
		if repo == f.TagsRepo {
			if diff := cmp.Diff(f.Tags, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("tags %s: want the %d tags pushed (-pushed +%s):\n%s", repo, manyTags, v.Name(), diff)
			}
		}
	}
	t.Run("paginated", func(t *testing.T) {
		got, err := v.Tags(f.PagedTagsRepo)
		if err != nil {
			t.Fatalf("tags %s: %v", f.PagedTagsRepo, err)
		}
		if diff := cmp.Diff(f.Tags, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("tags %s (pages of %d): want all %d tags (-pushed +%s):\n%s", f.PagedTagsRepo, tagPageSize, manyTags, v.Name(), diff)
		}
		if want := lines(crane(t, "ls", f.PagedTagsRepo)); len(want) != manyTags {
			t.Errorf("oracle: crane ls %s lists %d tags, want %d", f.PagedTagsRepo, len(want), manyTags)
		}
	})
}

// TestRefForms checks that every spelling of one image resolves to it:
// bare, docker://, tag@digest and by digest alone.
func TestRefForms(t *testing.T) {
	f := sharedFixtures(t)
	img := f.image(t, "oci")
	want := craneSees(t, img.Ref())
	for _, v := range allViews(t) {
		t.Run(v.Name(), func(t *testing.T) {
			t.Parallel()
			for _, ref := range []string{img.Ref(), "docker://" + img.Ref(), img.Ref() + "@" + want.Digest, img.Repo + "@" + want.Digest} {
				got, err := v.Inspect(ref, "")
				if err != nil {
					t.Errorf("inspect %s: %v", ref, err)
					continue
				}
				if got.Digest != want.Digest {
					t.Errorf("inspect %s: digest %s, want %s", ref, got.Digest, want.Digest)
				}
			}
		})
	}
}
