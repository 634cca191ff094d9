package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// chunkAbove is the size from which a base blob goes to a target that can
// resume (a registry) in chunks of this size, as engine/copy does.
const chunkAbove = 64 << 20

// maxDepth bounds index nesting, as engine/copy does.
const maxDepth = 8

// copyBlob brings one base blob from src to dst unless dst has it, with
// engine/copy's semantics: a mount when both are repositories of one
// registry, a resumable upload when the blob is large, verified on both
// sides. Non-distributable (foreign) layers are never pushed.
//
// distribution-spec v1.1.1 §Checking if content exists, §Mounting a blob
// from another repository, §Pushing blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
func copyBlob(ctx context.Context, src transport.Source, dst transport.Target, desc oci.Descriptor) error {
	if desc.MediaType == oci.MediaTypeDockerForeignLayer || strings.Contains(desc.MediaType, ".nondistributable.") {
		return nil
	}
	ok, err := dst.Exists(ctx, desc)
	if err != nil || ok {
		return err
	}
	if m, ok := dst.(transport.Mounter); ok {
		sl, ok1 := src.(located)
		dl, ok2 := dst.(located)
		if ok1 && ok2 && sl.Host() == dl.Host() && sl.Name() != dl.Name() {
			if ok, err := m.Mount(ctx, desc, sl.Name()); err == nil && ok {
				return nil
			} else if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if rp, ok := dst.(transport.ResumablePusher); ok && desc.Size > chunkAbove {
		return rp.PushResumable(ctx, desc, chunkAbove, func(ctx context.Context, offset int64) (io.ReadCloser, error) {
			if rf, ok := src.(transport.RangeFetcher); ok && offset > 0 {
				return rf.FetchRange(ctx, desc, offset, -1)
			}
			rc, err := src.Fetch(ctx, desc)
			if err == nil && offset > 0 {
				if _, err = io.CopyN(io.Discard, rc, offset); err != nil {
					rc.Close()
				}
			}
			return rc, err
		})
	}
	rc, err := src.Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	return dst.Push(ctx, desc, rc)
}

// located is implemented by registry repositories: where a blob can be
// mounted from.
type located interface {
	Host() string
	Name() string
}

// copyManifest brings an unchanged manifest (an index entry Append leaves
// alone) and everything below it from src to dst, children first.
func copyManifest(ctx context.Context, src transport.Source, dst transport.Target, desc oci.Descriptor, limit int64, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("indexes nested more than %d deep: %w", maxDepth, errdef.ErrUnsupported)
	}
	if !oci.IsManifest(desc.MediaType) {
		return copyBlob(ctx, src, dst, desc)
	}
	ok, err := dst.Exists(ctx, desc)
	if err != nil || ok {
		return err
	}
	m, err := transport.FetchManifest(ctx, src, desc, limit)
	if err != nil {
		return err
	}
	for _, d := range m.Children() {
		if oci.IsManifest(d.MediaType) {
			err = copyManifest(ctx, src, dst, d, limit, depth+1)
		} else {
			err = copyBlob(ctx, src, dst, d)
		}
		if err != nil {
			return err
		}
	}
	return dst.Push(ctx, desc, bytes.NewReader(m.Raw))
}

// pushBytes pushes a config or manifest unless dst has it.
func pushBytes(ctx context.Context, dst transport.Target, desc oci.Descriptor, raw []byte) error {
	ok, err := dst.Exists(ctx, desc)
	if err != nil || ok {
		return err
	}
	return dst.Push(ctx, desc, bytes.NewReader(raw))
}
