package stevedoreclient

import (
	"context"
	"errors"
	"fmt"
	"io"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// CopyOptions tune Copy. The zero value copies every platform of an index
// with the server's default concurrency.
type CopyOptions struct {
	// Platform (`os/arch[/variant]`) copies only that manifest of an index;
	// empty copies the whole index.
	Platform string
	// Concurrency bounds the blobs the server transfers at once, 1 to 64;
	// <= 0 means the server's default (4).
	Concurrency int
}

// Event is one progress event of a copy (BLOB_STARTED, BLOB_BYTES, ...).
// Events for one blob arrive in order; events for different blobs interleave.
type Event = *stevedorev1.CopyResponse

// Copy asks the server to copy src to dst (registry references such as
// `HOST/REPO:TAG`, or `oci:/DIR[:TAG]` layouts on the server), calling
// progress, if not nil, for every event on the caller's goroutine, and
// returns the RESULT event's CopyResult. Its Digest equals the source's.
//
// The copy runs on the server: cancelling ctx cancels it there too. Failures
// are *Error values (errors.Is(err, errdef.ErrNotFound) for a missing source).
// A stream that ends without a RESULT event is io.ErrUnexpectedEOF: the copy
// is not known to have finished, and since copies skip what the destination
// already has, calling Copy again is cheap.
func (c *Client) Copy(ctx context.Context, src, dst string, opts CopyOptions, progress func(Event)) (*stevedorev1.CopyResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Images.Copy(ctx, &stevedorev1.CopyRequest{
		Source: src, Destination: dst, Platform: opts.Platform, Concurrency: int32(max(opts.Concurrency, 0)),
	})
	if err != nil {
		return nil, FromStatus(err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("stevedoreclient: copy %s to %s: stream ended without a result: %w", src, dst, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return nil, FromStatus(err)
		}
		if progress != nil {
			progress(ev)
		}
		if ev.GetKind() == stevedorev1.CopyEventKind_COPY_EVENT_KIND_RESULT {
			return ev.GetResult(), nil
		}
	}
}
