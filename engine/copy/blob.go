package copy

import (
	"context"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/oci"
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
	c.rep.emit(Event{Kind: KindBlobStarted, Desc: desc})
	rc, err := c.src.Fetch(ctx, desc)
	if err != nil {
		return srcErr(desc, err)
	}
	defer rc.Close()
	sr := &sourceReader{r: rc, rep: c.rep, desc: desc, at: time.Now()}
	if err := c.dst.Push(ctx, desc, sr); err != nil {
		if sr.err != nil {
			// The target failed because its input did: the source's error
			// (a digest mismatch, a dropped connection) is the one to report.
			return srcErr(desc, sr.err)
		}
		return dstErr(desc, err)
	}
	c.blobsCopied.Add(1)
	c.bytes.Add(desc.Size)
	c.rep.emit(Event{Kind: KindBlobDone, Desc: desc, Bytes: desc.Size})
	return nil
}

// nonDistributable reports the layer media types that must not be pushed
// (image-spec v1.1.1 layer.md §Non-Distributable Layers, deprecated but
// still found in Windows images:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#non-distributable-layers).
func nonDistributable(mediaType string) bool {
	return mediaType == oci.MediaTypeDockerForeignLayer || strings.Contains(mediaType, ".nondistributable.")
}
