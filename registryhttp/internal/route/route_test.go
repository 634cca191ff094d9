package route

import (
	"errors"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestParse(t *testing.T) {
	tests := []struct {
		path    string
		want    Route
		invalid bool
	}{
		{"/v2/", Route{Kind: Base}, false},
		{"/v2", Route{Kind: Base}, false},
		{"/v2/_catalog", Route{Kind: Catalog}, false},
		{"/v2/_catalog/", Route{}, false},
		{"/", Route{}, false},
		{"/v1/a/manifests/x", Route{}, false},
		{"/v2/a/manifests/latest", Route{Manifest, "a", "latest"}, false},
		{"/v2/a/b/c/manifests/sha256:abc", Route{Manifest, "a/b/c", "sha256:abc"}, false},
		// Names whose components are endpoint words: parsed from the end.
		{"/v2/manifests/manifests/x", Route{Manifest, "manifests", "x"}, false},
		{"/v2/a/manifests/b/manifests/latest", Route{Manifest, "a/manifests/b", "latest"}, false},
		{"/v2/blobs/blobs/sha256:abc", Route{Blob, "blobs", "sha256:abc"}, false},
		{"/v2/a/blobs/b/blobs/sha256:abc", Route{Blob, "a/blobs/b", "sha256:abc"}, false},
		{"/v2/a/blobs/uploads/blobs/uploads/", Route{Upload, "a/blobs/uploads", ""}, false},
		{"/v2/a/manifests/x/blobs/uploads/id1", Route{Upload, "a/manifests/x", "id1"}, false},
		{"/v2/tags/list/tags/list", Route{Tags, "tags/list", ""}, false},
		{"/v2/_catalog/manifests/x", Route{Manifest, "_catalog", "x"}, true},
		// Uploads, with and without the trailing slash and a session.
		{"/v2/a/blobs/uploads/", Route{Upload, "a", ""}, false},
		{"/v2/a/blobs/uploads", Route{Upload, "a", ""}, false},
		{"/v2/a/blobs/uploads/0f3c", Route{Upload, "a", "0f3c"}, false},
		{"/v2/a/tags/list", Route{Tags, "a", ""}, false},
		{"/v2/a/referrers/sha256:abc", Route{Referrers, "a", "sha256:abc"}, false},
		// Trailing slashes shift the components: nothing matches.
		{"/v2/a/manifests/latest/", Route{}, false},
		{"/v2/a/tags/list/", Route{}, false},
		{"/v2/a/blobs/sha256:abc/", Route{}, false},
		// An empty reference is still a manifest route; the handler refuses it.
		{"/v2/a/manifests/", Route{Manifest, "a", ""}, false},
		// Too short to hold a name.
		{"/v2/manifests/latest", Route{}, false},
		{"/v2/blobs/uploads/", Route{}, false},
		// Bad names are reported, with the route still classified.
		{"/v2//manifests/latest", Route{Manifest, "", "latest"}, true},
		{"/v2/a//b/manifests/latest", Route{Manifest, "a//b", "latest"}, true},
		{"/v2/../x/manifests/latest", Route{Manifest, "../x", "latest"}, true},
		{"/v2/a/../b/blobs/sha256:abc", Route{Blob, "a/../b", "sha256:abc"}, true},
		{"/v2/A/manifests/latest", Route{Manifest, "A", "latest"}, true},
		// An encoded slash arrives decoded (r.URL.Path): "a%2Fb" is a/b,
		// and "%2Fmanifests%2F" inside a name makes real components.
		{"/v2/a/b/manifests/latest", Route{Manifest, "a/b", "latest"}, false},
		{"/v2/x/manifests/y/manifests/z", Route{Manifest, "x/manifests/y", "z"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := Parse(tt.path)
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
			if tt.invalid != (err != nil) {
				t.Errorf("Parse(%q) error = %v, want invalid=%v", tt.path, err, tt.invalid)
			}
			if err != nil && !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Parse(%q) error = %v, want ErrInvalid", tt.path, err)
			}
		})
	}
}

// FuzzParse checks Parse never panics and that a route it accepts names a
// repository that is a prefix of the path, never something built otherwise.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/a/manifests/x", "/v2/a/blobs/uploads/", "/v2/_catalog", "/v2//blobs/x", "/v2/a/../b/manifests/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, err := Parse(path)
		if err == nil && rt.Kind > Catalog && len(path) < len("/v2/")+len(rt.Name) {
			t.Fatalf("Parse(%q) = %+v: name longer than the path", path, rt)
		}
	})
}
