package served

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/internal/fsx"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Files of one upload session directory, uploads/<id>/.
const (
	uploadData  = "data"       // the bytes received so far (possibly a tail past offset after a crash)
	uploadState = "state.json" // uploadRecord, replaced atomically after data is synced
	uploadLock  = "lock"       // flock'd by whoever appends or commits
)

// uploadIDRE is the only shape of session id ever turned into a path.
var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Upload is the state of a blob upload session.
type Upload struct {
	ID      string    // a random UUID
	Repo    string    // the repository the session was started in
	Offset  int64     // bytes received and durable
	Started time.Time // when the session began; sessions expire from it
}

// uploadRecord is state.json. SHA256 is the marshalled sha256 state after
// Offset bytes, so that committing a chunked upload does not read the data
// back: the bytes are hashed once, as they arrive, even across restarts.
type uploadRecord struct {
	Repo    string    `json:"repo"`
	Offset  int64     `json:"offset"`
	SHA256  []byte    `json:"sha256,omitempty"`
	Started time.Time `json:"started"`
}

// OffsetError says a chunk did not start where the session ends: chunks must
// arrive in order. It matches errdef.ErrInvalid.
type OffsetError struct {
	Upload Upload // the session as it is (unchanged by the refused chunk)
	Start  int64  // where the refused chunk claimed to start
}

func (e *OffsetError) Error() string {
	return fmt.Sprintf("upload %s: chunk starts at %d, session holds %d bytes", e.Upload.ID, e.Start, e.Upload.Offset)
}

// Unwrap returns errdef.ErrInvalid.
func (e *OffsetError) Unwrap() error { return errdef.ErrInvalid }

// InterruptedError says a chunk's body failed part-way (the client went
// away, or the request was cancelled). The bytes that arrived before the
// failure were kept, as a completed chunk's are: Upload is the session
// advanced past them, where the client continues. Distribution keeps them
// too, and a client that asks the status after a broken connection then
// resends only the rest.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks (upload status):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
type InterruptedError struct {
	Upload Upload // the session with the received bytes
	Err    error  // why the body ended early
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("upload %s: body interrupted, kept %d bytes: %v", e.Upload.ID, e.Upload.Offset, e.Err)
}

// Unwrap returns the body's error.
func (e *InterruptedError) Unwrap() error { return e.Err }

// errInterrupted marks an appendChunk whose body failed after rec was
// advanced past what arrived; the caller saves rec and reports it.
type errInterrupted struct {
	err  error
	kept int64 // bytes rec was advanced by; 0: nothing to save
}

func (e errInterrupted) Error() string { return e.err.Error() }
func (e errInterrupted) Unwrap() error { return e.err }

// keepInterrupted saves rec after an interrupted append and turns the
// marker into an *InterruptedError; any other error passes unchanged.
func keepInterrupted(err error, dir, id string, rec *uploadRecord) error {
	var ie errInterrupted
	if !errors.As(err, &ie) {
		return err
	}
	up := Upload{ID: id, Repo: rec.Repo, Offset: rec.Offset, Started: rec.Started}
	if ie.kept == 0 {
		return &InterruptedError{Upload: up, Err: ie.err}
	}
	if werr := writeRecord(dir, *rec); werr != nil {
		return errors.Join(ie.err, werr)
	}
	return &InterruptedError{Upload: up, Err: ie.err}
}

// uploadDir validates id before it becomes a path.
func (r *Root) uploadDir(id string) (string, error) {
	if !uploadIDRE.MatchString(id) {
		return "", fmt.Errorf("upload %q: not a session id: %w", id, errdef.ErrNotFound)
	}
	return filepath.Join(r.dir, rootUploadsDir, id), nil
}

// StartUpload opens a new upload session for repository repo. The session
// lives on disk, so it survives a restart of the process.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func (r *Root) StartUpload(ctx context.Context, repo string) (Upload, error) {
	fail := func(err error) (Upload, error) { return Upload{}, &Error{Op: "upload", Err: err} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if _, err := r.repoDir(repo); err != nil {
		return fail(err)
	}
	id := newUUID()
	dir, _ := r.uploadDir(id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fail(err)
	}
	fh, err := os.OpenFile(filepath.Join(dir, uploadData), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		os.RemoveAll(dir)
		return fail(err)
	}
	fh.Close()
	rec := uploadRecord{Repo: repo, Started: time.Now().UTC()}
	if err := writeRecord(dir, rec); err != nil {
		os.RemoveAll(dir)
		return fail(err)
	}
	return Upload{ID: id, Repo: repo, Started: rec.Started}, nil
}

// UploadStatus returns the session id of repository repo. A session that does
// not exist, or belongs to another repository, matches errdef.ErrNotFound.
func (r *Root) UploadStatus(ctx context.Context, repo, id string) (Upload, error) {
	if err := ctx.Err(); err != nil {
		return Upload{}, &Error{Op: "upload", Err: err}
	}
	_, rec, err := r.openUpload(repo, id)
	if err != nil {
		return Upload{}, &Error{Op: "upload", Err: err}
	}
	return Upload{ID: id, Repo: rec.Repo, Offset: rec.Offset, Started: rec.Started}, nil
}

func (r *Root) openUpload(repo, id string) (string, uploadRecord, error) {
	dir, err := r.uploadDir(id)
	if err != nil {
		return "", uploadRecord{}, err
	}
	b, err := fsx.ReadLimited(os.Open, filepath.Join(dir, uploadState), 64<<10)
	if err != nil {
		return "", uploadRecord{}, fsx.NotFound(err, "upload "+id)
	}
	var rec uploadRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return "", uploadRecord{}, fmt.Errorf("upload %s: state is not valid JSON: %v: %w", id, err, errdef.ErrNotFound)
	}
	if rec.Repo != repo {
		return "", uploadRecord{}, fmt.Errorf("upload %s belongs to another repository: %w", id, errdef.ErrNotFound)
	}
	return dir, rec, nil
}

// WriteUpload appends body to the session. start is where the caller says the
// chunk begins (from its Content-Range); a negative start means "at the end".
// A chunk that does not start at the session's offset is refused with an
// *OffsetError. size >= 0 is the exact chunk length: a body shorter or longer
// fails with errdef.ErrSizeMismatch. A body that fails to read part-way keeps
// what arrived and fails with an *InterruptedError carrying the advanced
// session; any other failed append leaves the session as it was.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func (r *Root) WriteUpload(ctx context.Context, repo, id string, start, size int64, body io.Reader) (Upload, error) {
	var up Upload
	err := r.withUpload(ctx, repo, id, func(dir string, rec *uploadRecord) error {
		if err := appendChunk(ctx, dir, rec, start, size, body); err != nil {
			var oe *OffsetError
			if errors.As(err, &oe) {
				oe.Upload = Upload{ID: id, Repo: repo, Offset: rec.Offset, Started: rec.Started}
			}
			return keepInterrupted(err, dir, id, rec)
		}
		up = Upload{ID: id, Repo: repo, Offset: rec.Offset, Started: rec.Started}
		return writeRecord(dir, *rec)
	})
	if err != nil {
		return Upload{}, &Error{Op: "upload", Err: err}
	}
	return up, nil
}

// CommitUpload appends the final chunk (body may be nil; start and size as for
// WriteUpload), checks the whole upload hashes to d, and makes it blob d of
// the repository, which is created if needed. The session is gone afterwards.
// A digest that does not match fails with errdef.ErrDigestMismatch and keeps
// the session. A body that fails part-way keeps what arrived, as WriteUpload
// does, so the client can finish from there. It returns the blob's size.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks (closing the upload):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func (r *Root) CommitUpload(ctx context.Context, repo, id string, d digest.Digest, start, size int64, body io.Reader) (int64, error) {
	var n int64
	err := r.withUpload(ctx, repo, id, func(dir string, rec *uploadRecord) error {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("digest %q: %v: %w", d, err, errdef.ErrInvalid)
		}
		if body == nil {
			return r.finish(ctx, repo, id, dir, rec, d, &n)
		}
		if err := appendChunk(ctx, dir, rec, start, size, body); err != nil {
			return keepInterrupted(err, dir, id, rec)
		}
		// state.json is only brought up to date when the session outlives
		// this call: on success it is removed, and a crash before that
		// leaves the old, smaller offset, past which appendChunk discards
		// the bytes. Skipping it saves an fsync per monolithic upload.
		err := r.finish(ctx, repo, id, dir, rec, d, &n)
		if err != nil {
			if werr := writeRecord(dir, *rec); werr != nil {
				return errors.Join(err, werr)
			}
		}
		return err
	})
	if err != nil {
		return 0, &Error{Op: "upload", Digest: d, Err: err}
	}
	return n, nil
}

// finish checks that the upload's rec.Offset bytes hash to d, makes them blob
// d of repo and removes the session, setting *n to the blob's size.
func (r *Root) finish(ctx context.Context, repo, id, dir string, rec *uploadRecord, d digest.Digest, n *int64) error {
	data := filepath.Join(dir, uploadData)
	got, err := uploadDigest(ctx, data, rec, d.Algorithm())
	if err != nil {
		return err
	}
	if got != d {
		return fmt.Errorf("upload %s hashes to %s, not %s: %w", id, got, d, errdef.ErrDigestMismatch)
	}
	fs, err := r.CreateRepo(ctx, repo)
	if err != nil {
		return err
	}
	defer fs.Close()
	if err := r.adopt(ctx, data, fs, d); err != nil {
		return err
	}
	*n = rec.Offset
	return os.RemoveAll(dir)
}

// CancelUpload removes the session and its data.
//
// distribution-spec v1.1.1 §Deleting an upload (dev: canceling an upload):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func (r *Root) CancelUpload(ctx context.Context, repo, id string) error {
	err := r.withUpload(ctx, repo, id, func(dir string, _ *uploadRecord) error { return os.RemoveAll(dir) })
	if err != nil {
		return &Error{Op: "upload", Err: err}
	}
	return nil
}

// ExpireUploads removes sessions started before cutoff and returns how many.
// A cmd/ goroutine calls it periodically; a session being written holds its
// lock and is skipped until the next round.
func (r *Root) ExpireUploads(ctx context.Context, cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(filepath.Join(r.dir, rootUploadsDir))
	if err != nil {
		return 0, &Error{Op: "expire", Err: err}
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		dir, err := r.uploadDir(e.Name())
		if err != nil {
			continue
		}
		b, err := fsx.ReadLimited(os.Open, filepath.Join(dir, uploadState), 64<<10)
		var rec uploadRecord
		if err == nil && json.Unmarshal(b, &rec) == nil && rec.Started.After(cutoff) {
			continue
		}
		if err != nil {
			// No state: a crash inside StartUpload. Judge by the directory's age.
			if fi, serr := os.Stat(dir); serr != nil || fi.ModTime().After(cutoff) {
				continue
			}
		}
		if tryLockRemove(dir) {
			n++
		}
	}
	return n, nil
}

// CountUploads returns how many upload sessions are on disk: begun and not
// yet committed, cancelled or expired. The registry exports it as a gauge.
func (r *Root) CountUploads(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(filepath.Join(r.dir, rootUploadsDir))
	if err != nil {
		return 0, &Error{Op: "uploads", Err: err}
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() && uploadIDRE.MatchString(e.Name()) {
			n++
		}
	}
	return n, nil
}

// tryLockRemove removes dir unless someone holds its lock.
func tryLockRemove(dir string) bool {
	fh, err := os.OpenFile(filepath.Join(dir, uploadLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false
	}
	defer fh.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one non-blocking attempt
	if fsx.Flock(ctx, fh) != nil {
		return false
	}
	defer fsx.Funlock(fh)
	return os.RemoveAll(dir) == nil
}

// withUpload runs fn holding the session's lock, so concurrent PATCHes of one
// session (a confused or retrying client) cannot interleave; fn's changes to
// rec are saved when it returns nil and the session still exists.
func (r *Root) withUpload(ctx context.Context, repo, id string, fn func(dir string, rec *uploadRecord) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, _, err := r.openUpload(repo, id)
	if err != nil {
		return err
	}
	fh, err := os.OpenFile(filepath.Join(dir, uploadLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fsx.NotFound(err, "upload "+id)
	}
	defer fh.Close()
	if err := fsx.Flock(ctx, fh); err != nil {
		return err
	}
	defer fsx.Funlock(fh)
	// Re-read under the lock: the holder before us may have advanced or
	// finished the session.
	_, rec, err := r.openUpload(repo, id)
	if err != nil {
		return err
	}
	return fn(dir, &rec)
}

// appendChunk writes body at rec.Offset, syncs it, then advances rec to the
// new offset and hash state; the caller saves rec (writeRecord) if the
// session lives on. Bytes past rec.Offset (a chunk interrupted by a crash or
// a failed earlier append) are discarded first, and the data is synced
// before rec may be saved, so state.json never claims bytes that are not
// durable and the data never holds bytes it does not claim.
//
// The data is synced once per chunk, not per buffer: a client sending one
// large PATCH pays for one fsync, whose disk work ingest has mostly started
// already.
//
// A body that fails to read part-way (not a failed write) ends the chunk
// where it broke: what was written and hashed is synced and rec advanced
// over it, exactly as for a whole chunk, and the error is an
// errInterrupted. Size is not checked then: the chunk is short by nature.
func appendChunk(ctx context.Context, dir string, rec *uploadRecord, start, size int64, body io.Reader) (err error) {
	if start >= 0 && start != rec.Offset {
		return &OffsetError{Start: start}
	}
	h := sha256.New()
	if len(rec.SHA256) > 0 {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(rec.SHA256); err != nil {
			return fmt.Errorf("upload hash state: %w", err)
		}
	} else if rec.Offset > 0 {
		h = nil // state lost; CommitUpload re-reads the data
	}
	fh, err := os.OpenFile(filepath.Join(dir, uploadData), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer fh.Close()
	// rec.Offset is read when this runs: after an interruption it is the
	// advanced offset, so the kept bytes stay.
	defer func() {
		if err != nil {
			fh.Truncate(rec.Offset)
		}
	}()
	if err := fh.Truncate(rec.Offset); err != nil {
		return err
	}
	if _, err := fh.Seek(rec.Offset, io.SeekStart); err != nil {
		return err
	}
	br := &bodyReader{r: body}
	var src io.Reader = br
	if size >= 0 {
		src = io.LimitReader(src, size+1)
	}
	n, err := fsx.Ingest(ctx, fh, rec.Offset, src, h)
	if err != nil {
		// ingest counts a buffer only once written and hashed, so n bytes
		// are exactly what the session can claim after a read failure.
		if !br.failed(ctx, err) || size >= 0 && n > size {
			return err
		}
		if n == 0 {
			return errInterrupted{err: err}
		}
		if serr := fh.Sync(); serr != nil {
			return errors.Join(err, serr)
		}
		if aerr := advance(rec, n, h); aerr != nil {
			return errors.Join(err, aerr)
		}
		return errInterrupted{err: err, kept: n}
	}
	if size >= 0 && n != size {
		return fmt.Errorf("chunk declared %d bytes, body had %d: %w", size, n, errdef.ErrSizeMismatch)
	}
	if err := fh.Sync(); err != nil {
		return err
	}
	return advance(rec, n, h)
}

// advance moves rec past n more bytes whose running hash is h (nil: none).
func advance(rec *uploadRecord, n int64, h hash.Hash) error {
	next := *rec
	next.Offset += n
	next.SHA256 = nil
	if h != nil {
		var err error
		if next.SHA256, err = h.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return err
		}
	}
	*rec = next
	return nil
}

// bodyReader remembers a failure to read a chunk's body, so appendChunk can
// tell a client gone mid-body from a failed write.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// failed reports whether ingest's err came from reading the body: the body's
// own error, or the request's cancellation, which ingest checks before each
// read.
func (b *bodyReader) failed(ctx context.Context, err error) bool {
	if b.err != nil && errors.Is(err, b.err) {
		return true
	}
	return ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// uploadDigest returns the digest of the upload's data with algorithm alg:
// from the saved sha256 state when it covers all the data, else by reading it.
func uploadDigest(ctx context.Context, data string, rec *uploadRecord, alg digest.Algorithm) (digest.Digest, error) {
	if !alg.Available() {
		return "", fmt.Errorf("digest algorithm %q is not supported: %w", alg, errdef.ErrInvalid)
	}
	if alg == digest.SHA256 && (len(rec.SHA256) > 0 || rec.Offset == 0) {
		h := sha256.New()
		if len(rec.SHA256) > 0 {
			if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(rec.SHA256); err != nil {
				return "", err
			}
		}
		return digest.NewDigest(alg, h), nil
	}
	fh, err := os.Open(data)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	var h hash.Hash = alg.Hash()
	if _, err := io.CopyBuffer(h, io.LimitReader(oci.ContextReader(ctx, fh), rec.Offset), make([]byte, 1<<20)); err != nil {
		return "", err
	}
	return digest.NewDigest(alg, h), nil
}

// writeRecord replaces state.json atomically and durably: after a crash the
// session resumes from the last acknowledged chunk.
func writeRecord(dir string, rec uploadRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, uploadState+"-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil || tmp.Sync() != nil {
		if err == nil {
			err = errors.New("sync upload state")
		}
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, uploadState)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// newUUID returns a random (version 4) UUID, the form clients expect in
// Docker-Upload-UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
