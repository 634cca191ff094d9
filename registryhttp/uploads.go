package registryhttp

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// chunkMinLength is advertised in OCI-Chunk-Min-Length. Any chunk size is
// accepted; the hint keeps clients from paying two fsyncs per tiny chunk.
const chunkMinLength = 1024

func (reg *Registry) routeUpload(w http.ResponseWriter, r *http.Request, name, id string) error {
	if id == "" {
		if err := allow(r, http.MethodPost); err != nil {
			return err
		}
		return reg.postUpload(w, r, name)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		up, err := reg.root.UploadStatus(r.Context(), name, id)
		if err != nil {
			return notFound(err, "upload "+id+" unknown")
		}
		uploadHeaders(w, name, up)
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPatch:
		return reg.patchUpload(w, r, name, id)
	case http.MethodPut:
		return reg.putUpload(w, r, name, id)
	case http.MethodDelete:
		if err := reg.root.CancelUpload(r.Context(), name, id); err != nil {
			return notFound(err, "upload "+id+" unknown")
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return fail(classMethod, r.Method+" is not supported here")
}

// postUpload starts an upload: a mount from another repository, a
// monolithic upload when the digest is given, or an empty session.
//
// distribution-spec v1.1.1 §Pushing blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
func (reg *Registry) postUpload(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		done, err := reg.mount(w, r, name, m, q.Get("from"))
		if done || err != nil {
			return err
		}
		// Not mountable: fall through to a session, as the spec requires.
	}
	var d digest.Digest
	if ds, ok := q["digest"]; ok {
		var err error
		if d, err = parseDigest(ds[0]); err != nil {
			return err
		}
	}
	up, err := reg.root.StartUpload(ctx, name)
	if err != nil {
		return err
	}
	if d == "" {
		uploadHeaders(w, name, up)
		w.Header().Set("OCI-Chunk-Min-Length", strconv.Itoa(chunkMinLength))
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	// distribution-spec v1.1.1 §Single POST:
	// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#single-post
	body := &clientBody{r: r.Body}
	size, err := reg.root.CommitUpload(ctx, name, up.ID, d, -1, r.ContentLength, body)
	if err != nil {
		// The client never learnt this session's id, so what a broken body
		// left in it cannot be resumed: drop it, and name no session.
		_ = reg.root.CancelUpload(ctx, name, up.ID)
		if ie := (*served.InterruptedError)(nil); errors.As(err, &ie) {
			return body.bodyError(err)
		}
		return body.bodyError(uploadError(w, name, err))
	}
	return blobCreated(w, name, d, size)
}

// mount links blob m of repository from (any repository when from is empty)
// into name. It reports done=false, and no error, when the source lacks the
// blob, so the caller falls back to an upload session.
//
// distribution-spec v1.1.1 §Mounting a blob from another repository:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository
func (reg *Registry) mount(w http.ResponseWriter, r *http.Request, name, m, from string) (bool, error) {
	ctx := r.Context()
	d := digest.Digest(m)
	if oci.ValidateDigest(d) != nil {
		return false, nil
	}
	var src served.Repository
	if from != "" {
		if oci.ValidateRepository(from) != nil {
			return false, nil
		}
		var err error
		src, err = reg.openRepo(ctx, from)
		if errors.Is(err, errdef.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		if _, err := src.Stat(ctx, d); err != nil {
			return false, nil
		}
	}
	dst, err := reg.createRepo(ctx, name)
	if err != nil {
		return false, err
	}
	// The store touches a blob it mounts (see served.Toucher); one
	// collected in the instant since is not found, so not mountable.
	size, err := reg.root.Mount(ctx, dst, d, src)
	if errors.Is(err, errdef.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, blobCreated(w, name, d, size)
}

// patchUpload appends one chunk, in order, or streams the whole body when no
// Content-Range is given.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func (reg *Registry) patchUpload(w http.ResponseWriter, r *http.Request, name, id string) error {
	start, size, err := chunkRange(r)
	if err != nil {
		return err
	}
	body := &clientBody{r: r.Body}
	up, err := reg.root.WriteUpload(r.Context(), name, id, start, size, body)
	if err != nil {
		return body.bodyError(uploadError(w, name, err))
	}
	uploadHeaders(w, name, up)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// putUpload closes a session, with a last chunk or none.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks (closing the upload):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func (reg *Registry) putUpload(w http.ResponseWriter, r *http.Request, name, id string) error {
	ds := r.URL.Query().Get("digest")
	if ds == "" {
		return fail(classDigestInvalid, "the digest query parameter is required to close an upload")
	}
	d, err := parseDigest(ds)
	if err != nil {
		return err
	}
	start, size, err := chunkRange(r)
	if err != nil {
		return err
	}
	cb := &clientBody{r: r.Body}
	var body io.Reader
	if r.ContentLength != 0 {
		body = cb
	}
	n, err := reg.root.CommitUpload(r.Context(), name, id, d, start, size, body)
	if err != nil {
		return cb.bodyError(uploadError(w, name, err))
	}
	return blobCreated(w, name, d, n)
}

// chunkRange reads Content-Range ("<start>-<end>", inclusive, as the spec
// writes it; "bytes " and "bytes=" prefixes tolerated) and Content-Length.
// Without Content-Range the chunk goes at the end (start -1).
func chunkRange(r *http.Request) (start, size int64, err error) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, r.ContentLength, nil
	}
	s := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(cr), "bytes"), "=")
	s, _, _ = strings.Cut(strings.TrimSpace(s), "/")
	a, b, ok := strings.Cut(s, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	// end == MaxInt64 would overflow the size: no chunk is that long.
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start || end == math.MaxInt64 {
		return 0, 0, fail(classRange, "Content-Range "+strconv.Quote(cr)+" is not <start>-<end>")
	}
	size = end - start + 1
	if r.ContentLength >= 0 && r.ContentLength != size {
		return 0, 0, fail(classRange, "Content-Range and Content-Length disagree")
	}
	return start, size, nil
}

// uploadError maps a failed append or commit, adding the session's state to
// a 416 so the client can resume from the right offset. A body broken
// part-way has had what arrived kept (served.InterruptedError): the answer
// carries the advanced session too, though the client that broke the
// connection is usually gone and learns it from a status GET instead.
func uploadError(w http.ResponseWriter, name string, err error) error {
	var oe *served.OffsetError
	if errors.As(err, &oe) {
		uploadHeaders(w, name, oe.Upload)
		return fail(classRange, oe.Error())
	}
	var ie *served.InterruptedError
	if errors.As(err, &ie) {
		uploadHeaders(w, name, ie.Upload)
		return err
	}
	// A commit's digest naming content the session does not hold: the
	// store says invalid, and which digest.
	var se *store.Error
	if errors.Is(err, errdef.ErrInvalid) && errors.As(err, &se) && se.Digest != "" {
		return fail(classDigestInvalid, err.Error())
	}
	return notFound(err, "upload of "+name+" unknown")
}

// clientBody remembers a failure to read the request body, which is the
// client's (gone away, short body, too slow), so it is never answered with a
// 5xx: a client gone is logged as one, a body below the minimum rate gets a
// 408, anything else a 400.
// The store keeps the bytes read before the failure (see
// served.InterruptedError), so a PATCH or closing PUT cut mid-body resumes
// from the session's Range, as with distribution.
type clientBody struct {
	r   io.Reader
	err error
}

func (c *clientBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// bodyError prefers the body's own failure over what it caused downstream.
// A body the store saw interrupted by the request's cancellation is the
// client's doing as well.
func (c *clientBody) bodyError(err error) error {
	if err == nil {
		return nil
	}
	cause := c.err
	if ie := (*served.InterruptedError)(nil); cause == nil && errors.As(err, &ie) {
		cause = ie.Err
	}
	switch {
	case cause == nil:
		return err
	case errors.Is(cause, errBodyTooSlow):
		return fail(classTooSlow, cause.Error()+"; the session keeps what arrived (see Range)")
	}
	return fail(classInvalid, "reading the request body: "+cause.Error())
}

// uploadHeaders describes a session: where to continue and what it holds.
func uploadHeaders(w http.ResponseWriter, name string, up served.Upload) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+up.ID)
	h.Set("Docker-Upload-UUID", up.ID)
	h.Set("Range", "0-"+itoa(max(up.Offset-1, 0)))
}

// blobCreated is the 201 closing any successful upload or mount.
func blobCreated(w http.ResponseWriter, name string, d digest.Digest, _ int64) error {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}
