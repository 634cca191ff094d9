package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// DefaultChunkSize is kept for callers that want bounded chunks (a
// registry or proxy that limits request bodies); PushResumable's own
// default, chunkSize <= 0, is one PATCH for the whole blob.
const DefaultChunkSize = 64 << 20

// streamAbove is the size above which a blob pushed without a chunk size
// goes POST, one streaming PATCH, PUT (resumable from whatever the registry
// holds when the PATCH breaks: distribution keeps every byte it wrote)
// rather than POST then PUT (resent whole on failure, which for up to this
// much costs less than the extra request). One request per blob is the
// fewest a resumable upload can take; on distribution it measured the
// same wall time as 64 MiB chunks (docs/BENCHMARKS.md, Copy).
const streamAbove = 32 << 20

var _ transport.ResumablePusher = (*Repository)(nil)

// PushResumable uploads a blob larger than chunkSize as a chunked upload
// (POST, then PATCH with Content-Range per chunk, then PUT with the
// digest). chunkSize <= 0 sends a blob larger than streamAbove in a single
// streaming PATCH: one request carries the bytes, and a failure still
// resumes from what the registry kept. When a PATCH fails —
// the connection dropped, the registry restarted — it asks the registry how
// much it holds (GET on the upload URL, whose Range header says) and
// carries on from there with a source reopened at that offset, up to
// MaxRetries times. An upload the registry has forgotten starts over. A
// blob of at most chunkSize goes up in one PUT (POST then PUT), resent
// with the source reopened when the registry refuses it for a while.
//
// Without a resume, the source stream (verified, as open(0) promises) is
// read to its end before the final PUT, so a corrupt source fails here; a
// resumed upload's source is a range, which cannot be verified, so the
// check is the registry's, which must verify the digest on PUT.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks and §Resuming an upload
// (GET on the upload URL):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#get-blob-upload
func (r *Repository) PushResumable(ctx context.Context, desc oci.Descriptor, chunkSize int64, open func(ctx context.Context, offset int64) (io.ReadCloser, error)) error {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	small := chunkSize
	if chunkSize <= 0 {
		small, chunkSize = streamAbove, max(desc.Size, 1)
	}
	if desc.Size <= small {
		return r.pushBlobFrom(ctx, desc, open)
	}
	loc, err := r.startUpload(ctx)
	if err != nil {
		return err
	}
	var (
		offset int64
		src    io.ReadCloser
		whole  = true // src is the verified stream opened at 0
	)
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	zeroTried := false // the last resume was at 0 after a "0-0" status
	for failures := 0; ; {
		if src == nil {
			if src, err = open(ctx, offset); err != nil {
				return err
			}
		}
		for offset < desc.Size && err == nil {
			n, at := min(chunkSize, desc.Size-offset), offset
			// A PATCH refused before it was read (429, 503) is resent after
			// the registry's Retry-After with the chunk read again.
			reopen := func() (io.Reader, error) {
				if src != nil {
					src.Close()
					src = nil
				}
				rc, err := open(ctx, at)
				if err != nil {
					return nil, err
				}
				src, whole = rc, at == 0
				return io.LimitReader(src, n), nil
			}
			var next string
			if next, err = r.patchChunk(ctx, loc, offset, n, io.LimitReader(src, n), reopen); err == nil {
				loc, offset = next, offset+n
			}
		}
		if err == nil {
			break
		}
		var ve *oci.VerifyError
		if errors.As(err, &ve) || ctx.Err() != nil || !resumable(err) || failures >= r.opts.MaxRetries {
			return err
		}
		failures++
		if serr := sleep(ctx, r.backoff(failures-1)); serr != nil {
			return serr
		}
		if src != nil {
			src.Close()
			src = nil
		}
		at, status, serr := r.uploadStatus(ctx, loc)
		if serr == nil && at == 0 && zeroTried && is416(err) {
			// "0-0" is how registries say both "nothing yet" and "one
			// byte" (distribution and ours alike); 0 was refused, so 1.
			at = 1
		}
		zeroTried = serr == nil && at == 0
		switch {
		case serr == nil:
			loc = status
		case errors.Is(serr, errdef.ErrNotFound):
			// The registry lost the session (restarted without its state).
			if loc, serr = r.startUpload(ctx); serr != nil {
				return serr
			}
			at = 0
		default:
			return fmt.Errorf("%w (and asking how much of the upload arrived: %v)", err, serr)
		}
		whole = at == 0
		offset, err = at, nil
	}
	if whole {
		// Reaching EOF is what makes the source verify itself.
		if n, err := io.ReadAtLeast(src, make([]byte, 1), 1); n > 0 {
			return fmt.Errorf("source of %s is longer than %d bytes: %w", desc.Digest, desc.Size, errdef.ErrSizeMismatch)
		} else if err != nil && err != io.EOF {
			return err
		}
	}
	return r.finishUpload(ctx, loc, desc)
}

// resumable reports whether a failed PATCH is worth resuming: the network
// failed, or the registry was briefly unable (5xx, 429) or disagreed about
// the offset (416).
func resumable(err error) bool {
	if errors.Is(err, errdef.ErrUnavailable) || errors.Is(err, errdef.ErrTooManyRequests) {
		return true
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 500 || re.StatusCode == http.StatusRequestedRangeNotSatisfiable
	}
	return false
}

// startUpload opens an upload session and returns its absolute URL.
func (r *Repository) startUpload(ctx context.Context) (string, error) {
	u, err := r.url(ctx, "blobs/uploads/")
	if err != nil {
		return "", err
	}
	resp, err := r.send(ctx, &request{method: http.MethodPost, url: u, push: true})
	if err != nil {
		return "", err
	}
	if resp, err = expect(resp, http.StatusAccepted); err != nil {
		return "", err
	}
	drain(resp)
	return location(resp)
}

// location resolves a response's Location against its request URL.
func location(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("%s %s: registry gave no upload Location: %w", resp.Request.Method, redactURL(resp.Request.URL.String()), errdef.ErrUnsupported)
	}
	l, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("bad upload Location %q: %w", loc, errdef.ErrUnsupported)
	}
	return l.String(), nil
}

// patchChunk sends n bytes at offset and returns the next upload URL.
func (r *Repository) patchChunk(ctx context.Context, loc string, offset, n int64, body io.Reader, reopen func() (io.Reader, error)) (string, error) {
	resp, err := r.send(ctx, &request{method: http.MethodPatch, url: loc, stream: body, size: n, reopen: reopen, push: true,
		header: http.Header{
			"Content-Type":  {"application/octet-stream"},
			"Content-Range": {strconv.FormatInt(offset, 10) + "-" + strconv.FormatInt(offset+n-1, 10)},
		}})
	if err != nil {
		return "", err
	}
	if resp, err = expect(resp, http.StatusAccepted); err != nil {
		return "", err
	}
	drain(resp)
	return location(resp)
}

// uploadStatus returns how many bytes the upload at loc holds and its
// current URL. An unknown upload matches errdef.ErrNotFound.
//
// distribution-spec v1.1.1 (end-13, GET /v2/<name>/blobs/uploads/<reference>):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func (r *Repository) uploadStatus(ctx context.Context, loc string) (int64, string, error) {
	resp, err := r.send(ctx, &request{method: http.MethodGet, url: loc, push: true})
	if err != nil {
		return 0, "", err
	}
	if resp, err = expect(resp, http.StatusNoContent, http.StatusOK); err != nil {
		return 0, "", err
	}
	drain(resp)
	next := loc
	if resp.Header.Get("Location") != "" {
		if next, err = location(resp); err != nil {
			return 0, "", err
		}
	}
	return rangeEnd(resp.Header.Get("Range")), next, nil
}

// is416 reports a PATCH refused for its offset.
func is416(err error) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusRequestedRangeNotSatisfiable
}

// rangeEnd parses an upload's Range header, "0-<last>", into the offset
// to carry on from; anything else (none yet, "0--1") means 0, and so does
// "0-0", which registries send for an empty upload (the caller tries 1 if
// the registry then refuses 0).
func rangeEnd(v string) int64 {
	v = strings.TrimPrefix(v, "bytes=")
	first, last, ok := strings.Cut(v, "-")
	if !ok || first != "0" || last == "0" {
		return 0
	}
	n, err := strconv.ParseInt(last, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n + 1
}

// finishUpload closes the upload with the digest.
func (r *Repository) finishUpload(ctx context.Context, loc string, desc oci.Descriptor) error {
	base, err := url.Parse(loc)
	if err != nil {
		return fmt.Errorf("bad upload Location %q: %w", loc, errdef.ErrUnsupported)
	}
	l, err := uploadURL(base, "", desc.Digest.String())
	if err != nil {
		return err
	}
	resp, err := r.send(ctx, &request{method: http.MethodPut, url: l, body: []byte{}, push: true,
		header: http.Header{"Content-Type": {"application/octet-stream"}}})
	if err != nil {
		return err
	}
	if resp, err = expect(resp, http.StatusCreated); err != nil {
		return err
	}
	drain(resp)
	return nil
}
