package copy

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// copyBlob streams one blob from source to target unless the target has it.
// The source's stream verifies at EOF and so does the target's Push: the
// bytes are checked on both sides of the wire, and nothing but a 1 MiB-ish
// buffer is ever in memory.
//
// distribution-spec v1.1.1 §Checking if content exists and §Pushing blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
func (c *copier) copyBlob(ctx context.Context, desc oci.Descriptor) error {
	if nonDistributable(desc.MediaType) {
		// Foreign layers are fetched from their own URLs by whoever pulls
		// them; registries refuse to serve or accept them as blobs.
		c.blobsSkipped.Add(1)
		c.rep.emit(Event{Kind: KindBlobSkipped, Desc: desc})
		return nil
	}
	ok, err := c.dst.Exists(ctx, desc)
	if err != nil {
		return dstErr(desc, err)
	}
	if ok {
		c.blobsSkipped.Add(1)
		c.rep.emit(Event{Kind: KindBlobSkipped, Desc: desc})
		return nil
	}
	if ok, err := c.mount(ctx, desc); err != nil || ok {
		return err
	}
	release, err := c.opts.Limiter.acquire(ctx, hostOf(c.src), hostOf(c.dst))
	if err != nil {
		return err
	}
	defer release()
	c.rep.emit(Event{Kind: KindBlobStarted, Desc: desc})
	if rp, ok := c.dst.(transport.ResumablePusher); ok {
		// Given a way to reopen the source, a registry can resend a
		// refused or interrupted upload, and resume a chunked one.
		return c.pushResumable(ctx, rp, desc)
	}
	rc, raw, err := c.fetchBlob(ctx, desc)
	if err != nil {
		return srcErr(desc, err)
	}
	defer rc.Close()
	sr := &sourceReader{r: rc, rep: c.rep, desc: desc, at: time.Now()}
	if err := c.dst.Push(ctx, desc, sr); err != nil {
		var ve *oci.VerifyError
		if sr.err != nil || (raw && errors.As(err, &ve)) {
			// The target failed because its input did: the source's error
			// (a digest mismatch, a dropped connection) is the one to report.
			if sr.err != nil {
				err = sr.err
			}
			return srcErr(desc, err)
		}
		return dstErr(desc, err)
	}
	c.blobsCopied.Add(1)
	c.bytes.Add(desc.Size)
	c.rep.emit(Event{Kind: KindBlobDone, Desc: desc, Bytes: desc.Size})
	return nil
}

// fetchBlob opens desc at the source. A target that verifies every byte it
// stores (an OCI layout: the store hashes as it writes and refuses a
// mismatch) is given the source's raw stream where the source can serve
// one (a registry's ranged read), so the blob is hashed once, not once per
// side; raw says so, making a verification failure at the target the
// source's fault.
func (c *copier) fetchBlob(ctx context.Context, desc oci.Descriptor) (rc io.ReadCloser, raw bool, err error) {
	_, raw = c.dst.(*layout.Layout)
	if _, ok := c.src.(transport.RangeFetcher); !ok || hostOf(c.src) == "" {
		raw = false
	}
	rc, err = c.openSource(ctx, desc, 0, raw)
	return rc, raw, err
}

// nonDistributable reports the layer media types that must not be pushed
// (image-spec v1.1.1 layer.md §Non-Distributable Layers, deprecated but
// still found in Windows images:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#non-distributable-layers).
func nonDistributable(mediaType string) bool {
	return mediaType == oci.MediaTypeDockerForeignLayer || strings.Contains(mediaType, ".nondistributable.")
}

// located is implemented by registry repositories: where a blob can be
// mounted from.
type located interface {
	Host() string
	Name() string
}

// hostOf returns the registry host of a source or target, "" for a layout
// or an archive.
func hostOf(v any) string {
	if l, ok := v.(located); ok {
		return l.Host()
	}
	return ""
}

// mount links desc from the source repository when source and target are
// two repositories of one registry, which transfers nothing. A registry
// that declines (or a mount that fails) leaves an ordinary upload to do.
//
// distribution-spec v1.1.1 §Mounting a blob from another repository:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository
func (c *copier) mount(ctx context.Context, desc oci.Descriptor) (bool, error) {
	m, ok := c.dst.(transport.Mounter)
	if !ok {
		return false, nil
	}
	sl, ok1 := c.src.(located)
	dl, ok2 := c.dst.(located)
	if !ok1 || !ok2 || sl.Host() != dl.Host() || sl.Name() == dl.Name() {
		return false, nil
	}
	ok, err := m.Mount(ctx, desc, sl.Name())
	if err != nil || !ok {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, nil
	}
	c.blobsMounted.Add(1)
	c.rep.emit(Event{Kind: KindBlobMounted, Desc: desc})
	return true, nil
}

// pushResumable uploads a blob through a target that can reopen its source:
// a blob larger than ChunkSize goes in chunks, and a resume reopens the
// source at the offset the target reports, by range where the source can;
// a smaller one goes whole and is resent from a reopened source when the
// target refuses it for a while (429 with Retry-After, 503) or the
// connection drops.
func (c *copier) pushResumable(ctx context.Context, rp transport.ResumablePusher, desc oci.Descriptor) error {
	var srcFailed error
	open := func(ctx context.Context, offset int64) (io.ReadCloser, error) {
		rc, err := c.openSource(ctx, desc, offset, false)
		if err != nil {
			srcFailed = err
			return nil, err
		}
		// A reopened source starts with a clean record: only the failure
		// of the attempt that gave up is to blame.
		srcFailed = nil
		sr := &sourceReader{r: rc, rep: c.rep, desc: desc, at: time.Now(), n: offset, last: offset}
		return struct {
			io.Reader
			io.Closer
		}{&errNoter{sr, &srcFailed}, rc}, nil
	}
	if err := rp.PushResumable(ctx, desc, c.opts.ChunkSize, open); err != nil {
		if srcFailed != nil {
			return srcErr(desc, srcFailed)
		}
		return dstErr(desc, err)
	}
	c.blobsCopied.Add(1)
	c.bytes.Add(desc.Size)
	c.rep.emit(Event{Kind: KindBlobDone, Desc: desc, Bytes: desc.Size})
	return nil
}

// errNoter remembers a source's failure, so a failed upload can be blamed
// on the side that caused it.
type errNoter struct {
	sr  *sourceReader
	err *error
}

func (e *errNoter) Read(p []byte) (int, error) {
	n, err := e.sr.Read(p)
	if e.sr.err != nil && *e.err == nil {
		*e.err = e.sr.err
	}
	return n, err
}
