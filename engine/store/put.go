package store

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/internal/fsx"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Put stores r as the blob desc describes. The bytes go to a temp file under
// .ingest/, are hashed on the way, synced, checked against desc's digest and
// size, and only then renamed to blobs/<alg>/<hex>, so no reader ever sees a
// partial or wrong blob. A negative desc.Size means the size is not known in
// advance and only the digest is checked. A blob already present is left alone
// and r is not read.
//
// image-spec v1.1.1 §Blobs: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#blobs
func (f *FS) Put(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	if err := f.put(ctx, desc, r); err != nil {
		return &Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	return nil
}

func (f *FS) put(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	final, err := blobName(desc.Digest)
	if err != nil {
		return err
	}
	if fi, err := f.root.Stat(final); err == nil {
		// Content addressing makes the stored bytes the right ones; a differing
		// size can only mean the caller's descriptor is wrong.
		if desc.Size >= 0 && fi.Size() != desc.Size {
			return fmt.Errorf("blob is stored with %d bytes, descriptor says %d: %w", fi.Size(), desc.Size, errdef.ErrSizeMismatch)
		}
		return nil
	}
	tmp, tmpName, err := f.tempFile("blob-")
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			f.root.Remove(tmpName)
		}
	}()
	if _, err := fsx.Ingest(ctx, tmp, 0, oci.NewVerifyReader(r, desc.Digest, desc.Size), nil); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := f.root.MkdirAll(path.Dir(final), 0o755); err != nil {
		return err
	}
	// Concurrent writers of the same blob race here harmlessly: both files
	// hold the same verified bytes, and rename replaces atomically.
	if err := f.root.Rename(tmpName, final); err != nil {
		if _, serr := f.root.Stat(final); serr == nil {
			f.root.Remove(tmpName)
			committed = true
			return nil
		}
		return err
	}
	committed = true
	f.syncDir(path.Dir(final))
	return nil
}
