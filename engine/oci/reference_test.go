package oci

import (
	"errors"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestParseReference(t *testing.T) {
	const dg = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tests := []struct {
		in, want string
	}{
		{"alpine", "docker.io/library/alpine:latest"},
		{"alpine:3.20", "docker.io/library/alpine:3.20"},
		{"user/app", "docker.io/user/app:latest"},
		{"index.docker.io/user/app:v1", "docker.io/user/app:v1"},
		{"localhost/app", "localhost/app:latest"},
		{"127.0.0.1:5000/a/b/c:tag", "127.0.0.1:5000/a/b/c:tag"},
		{"127.0.0.1:5000/a@" + dg, "127.0.0.1:5000/a@" + dg},
		{"ghcr.io/o/r:t@" + dg, "ghcr.io/o/r:t@" + dg},
		{"[::1]:5000/x:y", "[::1]:5000/x:y"},
		{"reg.io/a__b/c-d.e:1_0", "reg.io/a__b/c-d.e:1_0"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReference(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseReferenceInvalid(t *testing.T) {
	for _, in := range []string{
		"", "UPPER/case", "a//b", "reg.io/", "a:b:c/d", "app:", "app:-tag", "app@sha256:short",
		"app@md5:d41d8cd98f00b204e9800998ecf8427e", "reg.io/a/../b", "a/-b", "reg.io:port/x",
	} {
		if _, err := ParseReference(in); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("ParseReference(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"alpine", "127.0.0.1:5000/a/b:c", "x@sha256:" + "00", "[::1]/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			return
		}
		// A parsed reference must re-parse to itself.
		r2, err := ParseReference(r.String())
		if err != nil || r2 != r {
			t.Fatalf("%q -> %q -> %v, %v", s, r.String(), r2, err)
		}
	})
}
