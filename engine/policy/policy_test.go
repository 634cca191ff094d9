package policy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"127.0.0.1:5000/app", "127.0.0.1:5000/app", true},
		{"127.0.0.1:5000/*", "127.0.0.1:5000/app", true},
		{"127.0.0.1:5000/*", "127.0.0.1:5000/team/app", false},
		{"127.0.0.1:5000/**", "127.0.0.1:5000/team/app", true},
		{"*.example.com/prod/**", "r.example.com/prod/a/b", true},
		{"*.example.com/prod/**", "r.example.com/dev/a", false},
		{"**/app", "docker.io/library/app", true},
		{"**", "anything/at/all", true},
		{"oci:/srv/*", "oci:/srv/layout", true},
		{"docker.io/library/alpine", "docker.io/library/alpine2", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.name, func(t *testing.T) {
			if got := match(tt.pattern, tt.name); got != tt.want {
				t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	kp, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a.pub"), kp.PublicPEM)
	writeFile(t, filepath.Join(dir, "bad.pub"), []byte("not a key"))
	tests := []struct {
		name, doc string
	}{
		{"unknown field", "repositories:\n- pattern: a/b\n  keys: [a.pub]\n  kyes: [x]\n"},
		{"unknown top field", "repo: []\n"},
		{"bad unmatched", "unmatched: maybe\n"},
		{"bad require", "repositories:\n- pattern: a/b\n  keys: [a.pub]\n  require: some\n"},
		{"no keys", "repositories:\n- pattern: a/b\n"},
		{"none with keys", "repositories:\n- pattern: a/b\n  keys: [a.pub]\n  require: none\n"},
		{"missing key file", "repositories:\n- pattern: a/b\n  keys: [missing.pub]\n"},
		{"corrupt key file", "repositories:\n- pattern: a/b\n  keys: [bad.pub]\n"},
		{"bad format", "repositories:\n- pattern: a/b\n  keys: [a.pub]\n  format: pgp\n"},
		{"bad pattern", "repositories:\n- pattern: 'a/[b'\n  keys: [a.pub]\n"},
		{"empty pattern", "repositories:\n- keys: [a.pub]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.doc), dir, Verifiers{}); err == nil {
				t.Fatalf("Parse accepted %q", tt.doc)
			}
		})
	}
	if _, err := Parse([]byte(""), dir, Verifiers{}); err != nil {
		t.Errorf("empty policy: %v", err)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	signer := newKey(t, dir, "signer")
	newKey(t, dir, "other")

	signed, unsigned := newLayout(t, "signed"), newLayout(t, "unsigned")
	if _, err := sign.Sign(ctx, signed, "v1", signer.Key, sign.SignOptions{Annotations: map[string]string{"team": "web"}}); err != nil {
		t.Fatal(err)
	}
	doc := `
repositories:
  - pattern: reg/open/**
    require: none
  - pattern: reg/any/*
    keys: [other.pub, signer.pub]
  - pattern: reg/all/*
    keys: [other.pub, signer.pub]
    require: all
  - pattern: reg/wrongkey/*
    keys: [other.pub]
  - pattern: reg/legacy/*
    keys: [signer.pub]
    format: legacy
  - pattern: reg/annotated/*
    keys: [signer.pub]
    annotations: {team: web}
  - pattern: reg/annotated-other/*
    keys: [signer.pub]
    annotations: {team: db}
`
	pol, err := Parse([]byte(doc), dir, Verifiers{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		src    transport.Source
		repo   string
		denied bool
	}{
		{"signed, any key", signed, "reg/any/x", false},
		{"unsigned", unsigned, "reg/any/x", true},
		{"exempt", unsigned, "reg/open/a/b", false},
		{"unmatched rejected", signed, "elsewhere/x", true},
		{"all keys needed", signed, "reg/all/x", true},
		{"wrong key", signed, "reg/wrongkey/x", true},
		{"format restricted", signed, "reg/legacy/x", true},
		{"annotation present", signed, "reg/annotated/x", false},
		{"annotation differs", signed, "reg/annotated-other/x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := pol.Check(ctx, tt.src, "v1", tt.repo)
			if tt.denied {
				var pe *Error
				if !errors.Is(err, errdef.ErrDenied) || !errors.As(err, &pe) || pe.Reason == "" {
					t.Fatalf("Check = %v, want a policy refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if d.Digest == "" {
				t.Error("no digest returned")
			}
		})
	}

	pol.Unmatched = Accept
	if _, err := pol.Check(ctx, unsigned, "v1", "elsewhere/x"); err != nil {
		t.Errorf("unmatched: accept: %v", err)
	}
	if pol.Protects("elsewhere/x") || pol.Protects("reg/open/a") || !pol.Protects("reg/any/x") {
		t.Error("Protects is wrong")
	}
}

// newKey writes NAME.pub into dir and returns the key pair.
func newKey(t *testing.T, dir, name string) *sign.KeyPair {
	t.Helper()
	kp, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name+".pub"), kp.PublicPEM)
	return kp
}

// newLayout writes a one-layer image tagged v1 into a new layout.
func newLayout(t *testing.T, content string) *layout.Layout {
	t.Helper()
	ctx := context.Background()
	fs, err := store.CreateFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := put(oci.MediaTypeImageConfig, []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`))
	l := put(oci.MediaTypeLayer, []byte(content))
	m := put(oci.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"mediaType":"`+oci.MediaTypeImageManifest+`","config":{"mediaType":"`+cfg.MediaType+`","digest":"`+cfg.Digest.String()+`","size":`+strconv.FormatInt(cfg.Size, 10)+`},"layers":[{"mediaType":"`+l.MediaType+`","digest":"`+l.Digest.String()+`","size":`+strconv.FormatInt(l.Size, 10)+`}]}`))
	if err := fs.Tag(ctx, m, "v1"); err != nil {
		t.Fatal(err)
	}
	return layout.New(fs)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
