package transport

import (
	"errors"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestParseRef(t *testing.T) {
	const dg = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tests := []struct {
		in, transport, path, id, str string
	}{
		{"alpine", Docker, "", "latest", "docker://docker.io/library/alpine:latest"},
		{"docker://127.0.0.1:5000/a:b", Docker, "", "b", "docker://127.0.0.1:5000/a:b"},
		{"oci:/tmp/lay", OCI, "/tmp/lay", "", "oci:/tmp/lay"},
		{"oci:/tmp/lay:v1", OCI, "/tmp/lay", "v1", "oci:/tmp/lay:v1"},
		{"oci:rel/dir:v1", OCI, "rel/dir", "v1", "oci:rel/dir:v1"},
		{"oci:./a:b/c", OCI, "./a:b/c", "", "oci:./a:b/c"},
		{"oci:/l@" + dg, OCI, "/l", dg, "oci:/l@" + dg},
		{"oci-archive:x.tar:t", OCIArchive, "x.tar", "t", "oci-archive:x.tar:t"},
		{"docker-archive:x.tar", DockerArchive, "x.tar", "", "docker-archive:x.tar"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRef(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Transport != tt.transport || r.Path != tt.path || r.Identifier() != tt.id || r.String() != tt.str {
				t.Errorf("got %+v (id %q, str %q)", r, r.Identifier(), r.String())
			}
		})
	}
}

func TestParseRefInvalid(t *testing.T) {
	for _, in := range []string{"", "docker:alpine", "ftp://x/y", "oci:", "oci::t", "oci:/x:", "oci:/x@sha256:zz", "BAD"} {
		if _, err := ParseRef(in); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("ParseRef(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

// TestParseRefMessage: a bad part is named by the reference it is in, once,
// and the class is said once (it used to repeat both).
func TestParseRefMessage(t *testing.T) {
	for _, in := range []string{"127.0.0.1:5000/app:bad!tag", "store:app:bad!tag", "127.0.0.1:5000/app@sha256:zz", "store:app@sha256:zz", "oci:/x@sha256:zz"} {
		_, err := ParseRef(in)
		if err == nil {
			t.Fatalf("ParseRef(%q) succeeded", in)
		}
		msg := err.Error()
		bad := in[strings.LastIndexAny(in, ":@")+1:]
		if strings.Count(msg, bad) != 1 || strings.Count(msg, errdef.ErrInvalid.Error()) != 1 {
			t.Errorf("ParseRef(%q): %q names %q or %q more than once", in, msg, bad, errdef.ErrInvalid)
		}
	}
}
