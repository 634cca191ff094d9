package oci

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestVerifyReader(t *testing.T) {
	content := []byte("hello, layer")
	good := digest.FromBytes(content)
	tests := []struct {
		name    string
		data    []byte
		dgst    digest.Digest
		size    int64
		wantErr error
	}{
		{"ok", content, good, int64(len(content)), nil},
		{"unknown size", content, good, -1, nil},
		{"flipped byte", append([]byte("j"), content[1:]...), good, int64(len(content)), errdef.ErrDigestMismatch},
		{"short", content[:5], good, int64(len(content)), errdef.ErrSizeMismatch},
		{"long", append(content, '!'), good, int64(len(content)), errdef.ErrSizeMismatch},
		{"sha512", content, digest.SHA512.FromBytes(content), int64(len(content)), nil},
		{"empty", nil, digest.FromBytes(nil), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(NewVerifyReader(bytes.NewReader(tt.data), tt.dgst, tt.size))
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var ve *VerifyError
			if tt.wantErr != nil && !errors.As(err, &ve) {
				t.Fatalf("err %T is not a *VerifyError", err)
			}
			if tt.size >= 0 && int64(len(got)) > tt.size {
				t.Errorf("yielded %d bytes, more than the declared %d", len(got), tt.size)
			}
		})
	}
}

func TestReadAllVerifiedLimit(t *testing.T) {
	data := strings.Repeat("x", 100)
	d := digest.FromString(data)
	if _, err := ReadAllVerified(strings.NewReader(data), d, 100, 50); !errors.Is(err, errdef.ErrTooLarge) {
		t.Errorf("declared size over limit: err = %v", err)
	}
	if _, err := ReadAllVerified(strings.NewReader(data), d, -1, 50); !errors.Is(err, errdef.ErrTooLarge) {
		t.Errorf("unknown size over limit: err = %v", err)
	}
	if b, err := ReadAllVerified(strings.NewReader(data), d, 100, 100); err != nil || string(b) != data {
		t.Errorf("at limit: %q, %v", b, err)
	}
}
