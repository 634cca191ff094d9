package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// TestDeleteManifestTags deletes a manifest with two tags: both go, unless
// another replica moves one to another manifest while the delete runs.
func TestDeleteManifestTags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		moved bool // v1 moves to the other manifest just before its delete
	}{
		{"quiet", false},
		{"tag moved meanwhile", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f, rs := newFakeRoots(t, 1)
			repo, err := rs[0].CreateRepo(ctx, "app")
			if err != nil {
				t.Fatal(err)
			}
			manifest := func(n int) oci.Descriptor {
				b := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":2},"layers":[],"annotations":{"n":"%d"}}`,
					oci.MediaTypeImageManifest, oci.MediaTypeImageConfig, digest.FromString("{}"), n)
				d := oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
				if err := rs[0].Put(ctx, repo, d, bytes.NewReader(b)); err != nil {
					t.Fatal(err)
				}
				return d
			}
			doomed, other := manifest(1), manifest(2)
			for tag, d := range map[string]oci.Descriptor{"v1": doomed, "v2": doomed, "other": other} {
				if err := repo.Tag(ctx, d, tag); err != nil {
					t.Fatal(err)
				}
			}
			v1 := rs[0].s.keys.tag("app", "v1")
			if tc.moved {
				moved, _ := json.Marshal(other)
				f.before = func(method, key string) {
					if method == http.MethodDelete && key == v1 {
						f.store(key, moved)
					}
				}
			}
			if err := repo.DeleteManifest(ctx, doomed.Digest); err != nil {
				t.Fatalf("DeleteManifest: %v", err)
			}
			want := map[string]digest.Digest{"v1": "", "v2": "", "other": other.Digest}
			if tc.moved {
				want["v1"] = other.Digest
			}
			for tag, wantD := range want {
				desc, err := repo.Resolve(ctx, tag)
				switch {
				case wantD == "" && !errors.Is(err, errdef.ErrNotFound):
					t.Errorf("tag %s: %v, %v; want it deleted", tag, desc.Digest, err)
				case wantD != "" && (err != nil || desc.Digest != wantD):
					t.Errorf("tag %s: %v, %v; want %s", tag, desc.Digest, err, wantD)
				}
			}
		})
	}
}
