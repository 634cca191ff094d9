package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/internal/fsx"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// AddRoot records desc in index.json as an untagged root unless an entry for
// its digest exists already. Manifests pushed by digest alone become roots
// this way, so tools that collect garbage from a layout's index (oras, a
// future stevedore gc) do not take them for garbage. desc must be stored and
// carry its media type.
//
// image-spec v1.1.1 §index.json file: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func (f *FS) AddRoot(ctx context.Context, desc oci.Descriptor) error {
	fail := func(err error) error { return &Error{Op: "root", Digest: desc.Digest, Err: err} }
	if desc.MediaType == "" {
		return fail(fmt.Errorf("descriptor has no media type: %w", errdef.ErrInvalid))
	}
	size, err := f.stat(ctx, desc.Digest)
	if err != nil {
		return fail(err)
	}
	if size != desc.Size {
		return fail(fmt.Errorf("manifest is stored with %d bytes, descriptor says %d: %w", size, desc.Size, errdef.ErrSizeMismatch))
	}
	desc.Annotations = nil
	raw, err := json.Marshal(desc)
	if err != nil {
		return fail(err)
	}
	err = f.Locked(ctx, func() error {
		idx, err := f.readIndex()
		if err != nil {
			return err
		}
		for _, e := range idx.entries {
			if e.desc.Digest == desc.Digest {
				return nil
			}
		}
		idx.entries = append(idx.entries, entry{raw: raw, desc: desc})
		return f.writeIndex(idx)
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// Untag removes tag from index.json. The manifest it named stays stored. A tag
// that does not exist matches errdef.ErrNotFound.
func (f *FS) Untag(ctx context.Context, tag string) error {
	fail := func(err error) error { return &Error{Op: "untag", Err: err} }
	if err := ValidateTag(tag); err != nil {
		return fail(err)
	}
	err := f.Locked(ctx, func() error {
		idx, err := f.readIndex()
		if err != nil {
			return err
		}
		kept := idx.entries[:0]
		for _, e := range idx.entries {
			if e.tag() != tag {
				kept = append(kept, e)
			}
		}
		if len(kept) == len(idx.entries) {
			return fmt.Errorf("tag %q not found: %w", tag, errdef.ErrNotFound)
		}
		idx.entries = kept
		return f.writeIndex(idx)
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// DeleteManifest removes every index.json entry for d (its tags and its
// untagged root) and then the blob itself. A manifest the layout does not
// hold matches errdef.ErrNotFound.
func (f *FS) DeleteManifest(ctx context.Context, d digest.Digest) error {
	fail := func(err error) error { return &Error{Op: "delete", Digest: d, Err: err} }
	p, err := blobName(d)
	if err != nil {
		return fail(err)
	}
	err = f.Locked(ctx, func() error {
		if _, err := f.root.Stat(p); err != nil {
			return fsx.NotFound(err, "manifest")
		}
		idx, err := f.readIndex()
		if err != nil {
			return err
		}
		kept := idx.entries[:0]
		for _, e := range idx.entries {
			if e.desc.Digest != d {
				kept = append(kept, e)
			}
		}
		if len(kept) != len(idx.entries) {
			idx.entries = kept
			if err := f.writeIndex(idx); err != nil {
				return err
			}
		}
		return fsx.NotFound(f.root.Remove(p), "manifest")
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// Delete removes the blob d from the layout. Manifests referencing it are not
// checked: the distribution API lets a client delete any blob. A blob the
// layout does not hold matches errdef.ErrNotFound.
func (f *FS) Delete(ctx context.Context, d digest.Digest) error {
	fail := func(err error) error { return &Error{Op: "delete", Digest: d, Err: err} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	p, err := blobName(d)
	if err != nil {
		return fail(err)
	}
	if err := f.root.Remove(p); err != nil {
		return fail(fsx.NotFound(err, "blob"))
	}
	return nil
}
