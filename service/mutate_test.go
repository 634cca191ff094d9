package service

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

func inspect(t *testing.T, c stevedorev1.ImageServiceClient, ref, platform string) *stevedorev1.InspectResponse {
	t.Helper()
	info, err := c.Inspect(context.Background(), &stevedorev1.InspectRequest{Ref: ref, Platform: platform})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestMutate(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	ctx := context.Background()
	before := inspect(t, c, f.ref(":app"), "").GetDigest()
	archive := "oci-archive:" + filepath.Join(t.TempDir(), "edited.tar") + ":v1"
	user := "1000"
	for _, tc := range []struct {
		name  string
		req   *stevedorev1.MutateRequest
		code  codes.Code
		check func(t *testing.T, res *stevedorev1.WriteResult)
	}{
		{"config and annotations", &stevedorev1.MutateRequest{
			Ref: f.ref(":app"), Destination: f.ref(":edited"),
			Env: []string{"MODE=prod"}, User: &user, Entrypoint: &stevedorev1.StringList{Values: []string{"/bin/app"}},
			Labels: map[string]string{"team": "core"}, Annotations: map[string]string{"a": "b"},
		}, codes.OK, func(t *testing.T, res *stevedorev1.WriteResult) {
			info := inspect(t, c, f.ref(":edited"), "")
			cfg := info.GetConfig()
			if info.GetDigest() != res.GetDigest() || res.GetTag() != "edited" || res.GetSourceDigest() != before ||
				!slices.Contains(cfg.GetEnv(), "MODE=prod") || cfg.GetUser() != "1000" || cfg.GetLabels()["team"] != "core" ||
				!slices.Equal(cfg.GetEntrypoint(), []string{"/bin/app"}) || info.GetAnnotations()["a"] != "b" {
				t.Errorf("result %v, image %v", res, info)
			}
		}},
		{"flatten", &stevedorev1.MutateRequest{Ref: f.ref(":app"), Destination: f.ref(":flat"), Flatten: true}, codes.OK, func(t *testing.T, _ *stevedorev1.WriteResult) {
			if n := len(inspect(t, c, f.ref(":flat"), "").GetLayers()); n != 1 {
				t.Errorf("%d layers after flatten", n)
			}
			if got, want := paths(listFiles(t, c, &stevedorev1.ListFilesRequest{Ref: f.ref(":flat")})),
				paths(listFiles(t, c, &stevedorev1.ListFilesRequest{Ref: f.ref(":app")})); !slices.Equal(got, want) {
				t.Errorf("flattened files %q, want %q", got, want)
			}
		}},
		{"remove layer and recompress", &stevedorev1.MutateRequest{Ref: f.ref(":app"), Destination: f.ref(":slim"), RemoveLayers: []int32{-1}, Recompress: "zstd"},
			codes.OK, func(t *testing.T, _ *stevedorev1.WriteResult) {
				layers := inspect(t, c, f.ref(":slim"), "").GetLayers()
				if len(layers) != 1 || layers[0].GetMediaType() != "application/vnd.oci.image.layer.v1.tar+zstd" {
					t.Errorf("layers %v", layers)
				}
			}},
		{"convert", &stevedorev1.MutateRequest{Ref: f.ref(":app"), Destination: f.ref(":docker"), Convert: "docker"}, codes.OK, func(t *testing.T, res *stevedorev1.WriteResult) {
			if res.GetMediaType() != "application/vnd.docker.distribution.manifest.v2+json" {
				t.Errorf("media type %s", res.GetMediaType())
			}
		}},
		// The archive is committed once, by the engine (it used to be
		// written and then reported "already committed").
		{"to an archive", &stevedorev1.MutateRequest{Ref: f.ref(":app"), Destination: archive, Env: []string{"MODE=archived"}},
			codes.OK, func(t *testing.T, res *stevedorev1.WriteResult) {
				info := inspect(t, c, archive, "")
				if info.GetDigest() != res.GetDigest() || !slices.Contains(info.GetConfig().GetEnv(), "MODE=archived") || res.GetDestination() != archive {
					t.Errorf("result %v, archive holds %v", res, info)
				}
			}},
		{"back into the archive", &stevedorev1.MutateRequest{Ref: archive, Env: []string{"A=1"}}, codes.InvalidArgument, nil},
		{"no edit", &stevedorev1.MutateRequest{Ref: f.ref(":app")}, codes.InvalidArgument, nil},
		{"bad convert", &stevedorev1.MutateRequest{Ref: f.ref(":app"), Convert: "rpm"}, codes.InvalidArgument, nil},
		{"digest destination", &stevedorev1.MutateRequest{Ref: f.ref(":app"), Destination: f.ref("@" + before), Env: []string{"A=1"}}, codes.InvalidArgument, nil},
		{"missing", &stevedorev1.MutateRequest{Ref: f.ref(":nope"), Env: []string{"A=1"}}, codes.NotFound, nil},
		{"layer out of range", &stevedorev1.MutateRequest{Ref: f.ref(":app"), RemoveLayers: []int32{7}}, codes.InvalidArgument, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Mutate(ctx, tc.req)
			expectCode(t, err, tc.code)
			if tc.check != nil {
				tc.check(t, resp.GetResult())
			}
		})
	}
	if after := inspect(t, c, f.ref(":app"), "").GetDigest(); after != before {
		t.Errorf("source changed: %s, was %s", after, before)
	}
}

func TestRebase(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	ctx := context.Background()
	other := inspect(t, c, f.ref(":other"), "").GetLayers()
	app := inspect(t, c, f.ref(":app"), "").GetLayers()
	for _, tc := range []struct {
		name string
		req  *stevedorev1.RebaseRequest
		code codes.Code
	}{
		{"explicit old base", &stevedorev1.RebaseRequest{Ref: f.ref(":app"), Destination: f.ref(":rebased"), OldBase: f.ref(":base"), NewBase: f.ref(":other")}, codes.OK},
		{"not built on it", &stevedorev1.RebaseRequest{Ref: f.ref(":app"), Destination: f.ref(":x"), OldBase: f.ref(":other"), NewBase: f.ref(":base")}, codes.InvalidArgument},
		{"no new base", &stevedorev1.RebaseRequest{Ref: f.ref(":app")}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Rebase(ctx, tc.req)
			expectCode(t, err, tc.code)
		})
	}
	got := inspect(t, c, f.ref(":rebased"), "").GetLayers()
	if len(got) != 2 || got[0].GetDigest() != other[0].GetDigest() || got[1].GetDigest() != app[1].GetDigest() {
		t.Errorf("rebased layers %v", got)
	}
}

func TestIndexes(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	ctx := context.Background()
	if _, err := c.Mutate(ctx, &stevedorev1.MutateRequest{Ref: f.ref(":app"), Destination: f.ref(":arm"), SetPlatform: "linux/arm64"}); err != nil {
		t.Fatal(err)
	}
	platforms := func(ref string) []string {
		var out []string
		for _, p := range inspect(t, c, ref, "").GetPlatforms() {
			out = append(out, p.GetOs()+"/"+p.GetArchitecture())
		}
		return out
	}
	archive := "oci-archive:" + filepath.Join(t.TempDir(), "index.tar") + ":v1"
	steps := []struct {
		name string
		run  func() error
		ref  string
		want []string
	}{
		{"create", func() error {
			_, err := c.CreateIndex(ctx, &stevedorev1.CreateIndexRequest{Destination: f.ref(":multi"), Members: []string{f.ref(":app"), f.ref(":arm")}})
			return err
		}, ":multi", []string{"linux/amd64", "linux/arm64"}},
		{"remove", func() error {
			_, err := c.RemoveFromIndex(ctx, &stevedorev1.RemoveFromIndexRequest{Ref: f.ref(":multi"), Destination: f.ref(":amd"), Platforms: []string{"linux/arm64"}})
			return err
		}, ":amd", []string{"linux/amd64"}},
		{"add", func() error {
			_, err := c.AddToIndex(ctx, &stevedorev1.AddToIndexRequest{Ref: f.ref(":amd"), Members: []string{f.ref(":arm")}})
			return err
		}, ":amd", []string{"linux/amd64", "linux/arm64"}},
		{"remove into an archive", func() error {
			_, err := c.RemoveFromIndex(ctx, &stevedorev1.RemoveFromIndexRequest{Ref: f.ref(":multi"), Destination: archive, Platforms: []string{"linux/amd64"}})
			return err
		}, archive, []string{"linux/arm64"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.run(); err != nil {
				t.Fatal(err)
			}
			ref := s.ref
			if strings.HasPrefix(ref, ":") {
				ref = f.ref(ref)
			}
			if got := platforms(ref); !slices.Equal(got, s.want) {
				t.Errorf("platforms %q, want %q", got, s.want)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		_, err := c.CreateIndex(ctx, &stevedorev1.CreateIndexRequest{Members: []string{f.ref(":app")}})
		expectCode(t, err, codes.InvalidArgument)
		_, err = c.RemoveFromIndex(ctx, &stevedorev1.RemoveFromIndexRequest{Ref: f.ref(":multi"), Platforms: []string{"linux/s390x"}})
		expectCode(t, err, codes.NotFound)
		_, err = c.AddToIndex(ctx, &stevedorev1.AddToIndexRequest{Ref: f.ref(":app"), Members: []string{f.ref(":arm")}})
		expectCode(t, err, codes.InvalidArgument)
	})
}

func TestTagUntag(t *testing.T) {
	f := newImageFixture(t)
	c := newClient(t)
	ctx := context.Background()
	res, err := c.Tag(ctx, &stevedorev1.TagRequest{Ref: f.ref(":app"), Tags: []string{"v1", "latest"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetResult().GetDigest() != inspect(t, c, f.ref(":app"), "").GetDigest() {
		t.Errorf("tagged %v", res)
	}
	tags := func() []string {
		l, err := c.ListTags(ctx, &stevedorev1.ListTagsRequest{Repository: f.ref("")})
		if err != nil {
			t.Fatal(err)
		}
		return l.GetTags()
	}
	if got := tags(); !slices.Contains(got, "v1") || !slices.Contains(got, "latest") {
		t.Fatalf("tags %q", got)
	}
	if _, err := c.Untag(ctx, &stevedorev1.UntagRequest{Ref: f.ref(":v1")}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); slices.Contains(got, "v1") || !slices.Contains(got, "app") {
		t.Errorf("tags after untag %q", got)
	}
	for _, tc := range []struct {
		name string
		err  error
		code codes.Code
	}{
		{"tag nothing", func() error { _, err := c.Tag(ctx, &stevedorev1.TagRequest{Ref: f.ref(":app")}); return err }(), codes.InvalidArgument},
		{"untag digest", func() error {
			_, err := c.Untag(ctx, &stevedorev1.UntagRequest{Ref: f.ref("@" + res.GetResult().GetDigest())})
			return err
		}(), codes.InvalidArgument},
		{"untag missing", func() error { _, err := c.Untag(ctx, &stevedorev1.UntagRequest{Ref: f.ref(":nope")}); return err }(), codes.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) { expectCode(t, tc.err, tc.code) })
	}
}
