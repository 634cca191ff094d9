package cache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/cache"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

func TestRoute(t *testing.T) {
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(root.Backend(), []cache.Upstream{
		{Prefix: "docker.io", URLs: []string{"https://registry-1.docker.io"}},
		{Prefix: "ghcr.io", URLs: []string{"https://ghcr.io"}},
		{Prefix: "mirrors/ghcr", URLs: []string{"https://mirror.example:8443", "http://127.0.0.1:5001"}},
	}, cache.Options{SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, prefix, remote string
	}{
		{"docker.io/alpine", "docker.io", "library/alpine"},
		{"docker.io/org/app", "docker.io", "org/app"},
		{"ghcr.io/x", "ghcr.io", "x"},
		{"mirrors/ghcr/x/y", "mirrors/ghcr", "x/y"},
		{"mirrors/x", "", ""},
		{"docker.io", "", ""},
		{"docker.iox/a", "", ""},
		{"app", "", ""},
	} {
		prefix, remote, ok := c.Route(tc.name)
		if prefix != tc.prefix || remote != tc.remote || ok != (tc.prefix != "") {
			t.Errorf("Route(%q) = %q, %q, %v; want %q, %q", tc.name, prefix, remote, ok, tc.prefix, tc.remote)
		}
	}
	for ns, want := range map[string]string{
		"docker.io": "docker.io", "registry-1.docker.io": "docker.io", "index.docker.io": "docker.io",
		"GHCR.io": "ghcr.io", "127.0.0.1:5001": "mirrors/ghcr", "mirror.example:8443": "mirrors/ghcr",
		"quay.io": "", "mirrors/ghcr": "mirrors/ghcr",
	} {
		if got, ok := c.ForNamespace(ns); got != want || ok != (want != "") {
			t.Errorf("ForNamespace(%q) = %q, %v; want %q", ns, got, ok, want)
		}
	}
}

func TestNewRefusesBadUpstreams(t *testing.T) {
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good := cache.Upstream{Prefix: "docker.io", URLs: []string{"https://registry-1.docker.io"}}
	for name, ups := range map[string][]cache.Upstream{
		"empty prefix":     {{Prefix: "/", URLs: good.URLs}},
		"bad prefix":       {{Prefix: "Docker.io", URLs: good.URLs}},
		"no urls":          {{Prefix: "x"}},
		"scheme":           {{Prefix: "x", URLs: []string{"ftp://h"}}},
		"no host":          {{Prefix: "x", URLs: []string{"registry-1.docker.io"}}},
		"path":             {{Prefix: "x", URLs: []string{"https://h/v2/"}}},
		"user":             {{Prefix: "x", URLs: []string{"https://u:p@h"}}},
		"negative ttl":     {{Prefix: "x", URLs: good.URLs, TagTTL: -time.Second}},
		"duplicate prefix": {good, good},
	} {
		if _, err := cache.New(root.Backend(), ups, cache.Options{SpoolDir: t.TempDir()}); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

// TestReferrersSynced: the upstream's referrers of a subject become the
// store's, so the registry's listing (and verification through the cache)
// sees them.
func TestReferrersSynced(t *testing.T) {
	u := newUpstream(t)
	img := pushImage(t, u.b, "app", "v1", 1024)
	ctx := context.Background()
	empty := []byte("{}")
	emptyDesc := oci.Descriptor{MediaType: oci.MediaTypeEmptyJSON, Digest: digest.FromBytes(empty), Size: 2}
	repo, _ := u.b.Repo(ctx, "app")
	if err := u.b.Put(ctx, repo, emptyDesc, bytes.NewReader(empty)); err != nil {
		t.Fatal(err)
	}
	repo.Close()
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "artifactType": "application/vnd.example.sig",
		"config": emptyDesc, "layers": []oci.Descriptor{emptyDesc},
		"subject": oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: img.manifest, Size: 1},
	})
	ref, err := served.PutManifest(ctx, u.b, "app", raw, served.ManifestPut{MediaType: oci.MediaTypeImageManifest})
	if err != nil {
		t.Fatal(err)
	}

	c, b := newCache(t, u, nil)
	if stale, err := c.Referrers(ctx, "up/app", img.manifest); stale != nil || err != nil {
		t.Fatalf("Referrers: stale %v, %v", stale, err)
	}
	local, err := b.Repo(ctx, "up/app")
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	list, err := served.ListReferrers(ctx, b, "up/app", local, img.manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Digest != ref.Digest || list[0].ArtifactType != "application/vnd.example.sig" {
		t.Fatalf("store's referrers of %s: %+v, want %s", img.manifest, list, ref.Digest)
	}
}
