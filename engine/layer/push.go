package layer

import (
	"context"
	"io"

	"github.com/stevedore-dev/stevedore/engine/transport"
)

// resumableAbove is the size from which a blob goes to a target that can
// resume (a registry) as a chunked upload, as engine/copy does.
const resumableAbove = 64 << 20

// Push sends the spooled blob to dst unless dst has it already. A large
// blob goes in resumable chunks where dst can take them, so a dropped
// connection costs a chunk, not the layer.
//
// distribution-spec v1.1.1 §Checking if content exists and §Pushing blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
func (f *File) Push(ctx context.Context, dst transport.Target) error {
	ok, err := dst.Exists(ctx, f.Desc)
	if err != nil || ok {
		return err
	}
	if rp, ok := dst.(transport.ResumablePusher); ok && f.Desc.Size > resumableAbove {
		return rp.PushResumable(ctx, f.Desc, resumableAbove, func(_ context.Context, offset int64) (io.ReadCloser, error) {
			r, err := f.Open()
			if err != nil {
				return nil, err
			}
			if _, err := r.Seek(offset, io.SeekStart); err != nil {
				r.Close()
				return nil, err
			}
			return r, nil
		})
	}
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	return dst.Push(ctx, f.Desc, r)
}
