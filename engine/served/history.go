package served

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// What retention needs to know of a repository's history, which each
// storage keeps in its own way.

// TagTimer is an optional capability of a Repository that keeps a record
// per tag with the time it was last written (the S3 store's tag objects).
type TagTimer interface {
	TagTimes(ctx context.Context) (map[string]time.Time, error)
}

// RootLister is an optional capability of a Repository that lists its
// untagged roots (AddRoot records).
type RootLister interface {
	UntaggedRoots(ctx context.Context) ([]oci.Descriptor, error)
}

// PushTimes returns when each tag of repo was last pushed, with the
// descriptor it names. Where the storage keeps a record per tag (TagTimer:
// an S3 tag object's LastModified) that record's time is the answer. A data
// directory keeps every tag in one index.json, so there it is the time the
// tagged manifest's file was last written: set when the manifest is
// stored, and renewed whenever a push of it (by this or any tag, in any
// repository: the file is shared) or of an index naming it protects it
// from the collector.
func PushTimes(ctx context.Context, repo Repository) (map[string]TagInfo, error) {
	repo, _ = unwrap(repo)
	tags, err := repo.Tags(ctx)
	if err != nil {
		return nil, err
	}
	var times map[string]time.Time
	if tt, ok := repo.(TagTimer); ok {
		if times, err = tt.TagTimes(ctx); err != nil {
			return nil, err
		}
	}
	fs, _ := repo.(*store.FS)
	out := make(map[string]TagInfo, len(tags))
	for _, t := range tags {
		desc, err := repo.Resolve(ctx, t)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // untagged meanwhile
		}
		if err != nil {
			return nil, err
		}
		info := TagInfo{Desc: desc, Pushed: times[t]}
		if info.Pushed.IsZero() && fs != nil {
			path, err := fs.BlobPath(desc.Digest)
			if err != nil {
				return nil, err
			}
			st, err := os.Stat(path)
			if err != nil {
				return nil, fmt.Errorf("tag %s: manifest %s: %w", t, desc.Digest, err)
			}
			info.Pushed = st.ModTime()
		}
		out[t] = info
	}
	return out, nil
}

// TagInfo is a tag's manifest and when the tag was pushed.
type TagInfo struct {
	Desc   oci.Descriptor
	Pushed time.Time
}

// UntaggedRoots returns the manifests repo keeps as untagged roots (pushed
// by digest, and not tagged since).
func UntaggedRoots(ctx context.Context, repo Repository) ([]oci.Descriptor, error) {
	repo, _ = unwrap(repo)
	switch r := repo.(type) {
	case RootLister:
		return r.UntaggedRoots(ctx)
	case *store.FS:
		roots, err := r.Roots(ctx)
		if err != nil {
			return nil, err
		}
		var out []oci.Descriptor
		for _, d := range roots {
			if d.Annotations[ocispec.AnnotationRefName] == "" {
				out = append(out, d)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("repository %T lists no untagged roots: %w", repo, errdef.ErrUnsupported)
}
