package registry

import (
	"context"
	"errors"
	"io"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// pushBlobFrom uploads a blob that fits in one request (POST then PUT) from
// a source it can open again: a PUT answered 429 (after its Retry-After),
// 5xx, or cut off is resent with the content re-read from the start, so a
// rate-limited or flaky registry costs time, not the copy. When the
// registry forgot the upload session meanwhile (BLOB_UPLOAD_UNKNOWN: it
// restarted, or an earlier attempt did complete), the blob is looked for
// and, if absent, uploaded once more in a new session.
//
// distribution-spec v1.1.1 §POST then PUT:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#post-then-put
func (r *Repository) pushBlobFrom(ctx context.Context, desc oci.Descriptor, open func(ctx context.Context, offset int64) (io.ReadCloser, error)) error {
	var cur io.ReadCloser
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	reopen := func() (io.Reader, error) {
		if cur != nil {
			cur.Close()
			cur = nil
		}
		rc, err := open(ctx, 0)
		if err != nil {
			return nil, err
		}
		cur = rc
		return rc, nil
	}
	for restarted := false; ; restarted = true {
		rd, err := reopen()
		if err != nil {
			return err
		}
		err = r.uploadBlob(ctx, desc, rd, reopen, true)
		var ve *oci.VerifyError
		if err == nil || restarted || errors.As(err, &ve) || !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
		if ok, eerr := r.Exists(ctx, desc); eerr == nil && ok {
			return nil
		}
	}
}
