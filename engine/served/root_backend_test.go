package served

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// otherRepo is a Repository some other backend handed out.
type otherRepo struct{ Repository }

func TestRootBackend(t *testing.T) {
	ctx := context.Background()
	root, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := root.Backend()
	if _, err := b.Repo(ctx, "a/b"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Repo of a new name = %v, want ErrNotFound", err)
	}
	repo, err := b.CreateRepo(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	data := "hello"
	desc := oci.Descriptor{Digest: digest.FromString(data), Size: int64(len(data))}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"put", func() error { return b.Put(ctx, repo, desc, strings.NewReader(data)) }, nil},
		{"mount from any", func() error {
			dst, _ := b.CreateRepo(ctx, "c")
			_, err := b.Mount(ctx, dst, desc.Digest, nil)
			return err
		}, nil},
		{"adopt a file", func() error {
			other := "adopted"
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
				return err
			}
			a := b.(FileAdopter)
			if err := a.AdoptFile(ctx, repo, digest.FromString(other), path); err != nil {
				return err
			}
			if n, err := repo.Stat(ctx, digest.FromString(other)); err != nil || n != int64(len(other)) {
				return fmt.Errorf("adopted blob: %d, %v", n, err)
			}
			return a.AdoptFile(ctx, otherRepo{}, digest.FromString(other), path)
		}, errdef.ErrInvalid},
		{"put into a foreign repository", func() error { return b.Put(ctx, otherRepo{}, desc, strings.NewReader(data)) }, errdef.ErrInvalid},
		{"mount from a foreign repository", func() error {
			_, err := b.Mount(ctx, repo, desc.Digest, otherRepo{})
			return err
		}, errdef.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	names, err := b.Repositories(ctx)
	if err != nil || strings.Join(names, ",") != "a/b,c" {
		t.Fatalf("Repositories = %v, %v", names, err)
	}
	c, _ := b.Repo(ctx, "c")
	if n, err := c.Stat(ctx, desc.Digest); err != nil || n != desc.Size {
		t.Fatalf("mounted blob: %d, %v", n, err)
	}
}
