package s3

import (
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/store"
)

func TestKeys(t *testing.T) {
	d := digest.FromString("x")
	tests := []struct {
		prefix string
		got    func(k keys) string
		want   string
	}{
		{"", func(k keys) string { return k.blob(d) }, "blobs/sha256/" + d.Encoded()},
		{"stevedore", func(k keys) string { return k.blob(d) }, "stevedore/blobs/sha256/" + d.Encoded()},
		{"/a/b/", func(k keys) string { return k.blob(d) }, "a/b/blobs/sha256/" + d.Encoded()},
		{"p", func(k keys) string { return k.tags("library/ubuntu") }, "p/repos/library/ubuntu/_tags/"},
		{"p", func(k keys) string { return k.tag("library/ubuntu", "22.04") }, "p/repos/library/ubuntu/_tags/22.04"},
		{"", func(k keys) string { return k.tag("a", "x/../y:z") }, "repos/a/_tags/x%2F..%2Fy%3Az"},
		{"", func(k keys) string { return k.probe("abc") }, "_probe/abc"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.got(newKeys(tc.prefix)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzEscapeTag checks that every valid tag becomes one key segment that
// cannot be "." or "..", and comes back unchanged.
func FuzzEscapeTag(f *testing.F) {
	for _, s := range []string{"latest", "v1.0", "_x", "a/b", "a/../b", "sha256:abc", "a+b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		if store.ValidateTag(tag) != nil {
			return
		}
		e := escapeTag(tag)
		if strings.Contains(e, "/") || e == "." || e == ".." {
			t.Fatalf("escapeTag(%q) = %q is not a single safe segment", tag, e)
		}
		back, err := url.PathUnescape(e)
		if err != nil || back != tag {
			t.Fatalf("unescape(escapeTag(%q)) = %q, %v", tag, back, err)
		}
	})
}
