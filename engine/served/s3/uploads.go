package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Upload sessions live in the bucket, so the PATCHes and the PUT of one
// upload may reach different replicas. Each chunk is its own immutable
// object, uploads/<id>/chunk/<offset>, created with If-None-Match: *: the
// session's offset is the length of the contiguous run of chunks from 0, a
// chunk can only be written at that offset, and of two writers racing for
// one offset exactly one wins; the other is told the offset moved (416), as
// is a client whose Content-Range is stale. A session is never one long S3
// multipart upload: its 5 MiB minimum part would refuse small chunks.
//
// Each byte is sent to the bucket once: the chunks are hashed as they stream
// in (uploadhash.go), so the commit knows the digest without reading them,
// and the blob is assembled from them by the server (assemble.go). An upload
// whose whole body comes with its digest (a monolithic POST or PUT) skips
// the chunk and goes straight to the blob's key, as Store.Put does.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks

// uploadIDRE is the only shape of session id ever turned into a key.
var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// sessionRecord is uploads/<id>/session.
type sessionRecord struct {
	Repo    string    `json:"repo"`
	Started time.Time `json:"started"`
}

// chunk is one listed chunk object.
type chunk struct {
	key       string
	off, size int64
	etag      string
}

// session is an upload as its listing shows it.
type session struct {
	served.Upload
	run    []chunk        // the contiguous chunks from offset 0
	hashes map[int64]bool // the end offsets that have a hash record
}

// StartUpload opens a session in repository repo.
func (r *Root) StartUpload(ctx context.Context, repo string) (served.Upload, error) {
	fail := func(err error) (served.Upload, error) { return served.Upload{}, &store.Error{Op: "upload", Err: err} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := checkRepo(repo); err != nil {
		return fail(err)
	}
	rec := sessionRecord{Repo: repo, Started: time.Now().UTC()}
	b, _ := json.Marshal(rec)
	id := newUUID()
	if _, err := r.s.putRecord(ctx, r.s.keys.session(id), b, true, ""); err != nil {
		return fail(err)
	}
	return served.Upload{ID: id, Repo: repo, Started: rec.Started}, nil
}

// UploadStatus returns the session id of repository repo, its offset
// computed from the chunks listed.
func (r *Root) UploadStatus(ctx context.Context, repo, id string) (served.Upload, error) {
	ss, err := r.status(ctx, repo, id)
	if err != nil {
		return served.Upload{}, &store.Error{Op: "upload", Err: err}
	}
	return ss.Upload, nil
}

// status reads the session and lists its objects once: the contiguous run
// of chunks from offset 0 and the hash records.
func (r *Root) status(ctx context.Context, repo, id string) (session, error) {
	if err := ctx.Err(); err != nil {
		return session{}, err
	}
	if !uploadIDRE.MatchString(id) {
		return session{}, fmt.Errorf("upload %q: not a session id: %w", id, errdef.ErrNotFound)
	}
	b, _, err := r.s.getRecord(ctx, r.s.keys.session(id))
	if err != nil {
		return session{}, fmt.Errorf("upload %s: %w", id, err)
	}
	var rec sessionRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return session{}, fmt.Errorf("upload %s: session is not valid JSON: %v: %w", id, err, errdef.ErrNotFound)
	}
	if rec.Repo != repo {
		return session{}, fmt.Errorf("upload %s belongs to another repository: %w", id, errdef.ErrNotFound)
	}
	objs, err := r.s.list(ctx, r.s.keys.upload(id))
	if err != nil {
		return session{}, err
	}
	ss := session{Upload: served.Upload{ID: id, Repo: repo, Started: rec.Started}, hashes: map[int64]bool{}}
	chunks, hashes := r.s.keys.chunks(id), r.s.keys.hashes(id)
	for _, o := range objs {
		if rest, ok := strings.CutPrefix(o.key, hashes); ok {
			if end, err := strconv.ParseInt(rest, 10, 64); err == nil {
				ss.hashes[end] = true
			}
			continue
		}
		rest, ok := strings.CutPrefix(o.key, chunks)
		off, err := strconv.ParseInt(rest, 10, 64)
		// Listed in key order, which the zero-padding makes offset order.
		if !ok || err != nil || off != ss.Offset {
			continue
		}
		ss.run = append(ss.run, chunk{key: o.key, off: off, size: o.size, etag: o.etag})
		ss.Offset += o.size
	}
	return ss, nil
}

// WriteUpload stores body as the session's next chunk.
func (r *Root) WriteUpload(ctx context.Context, repo, id string, start, size int64, body io.Reader) (served.Upload, error) {
	ss, err := r.status(ctx, repo, id)
	if err == nil {
		ss, _, err = r.writeChunk(ctx, ss, start, size, body)
	}
	if err != nil {
		return served.Upload{}, &store.Error{Op: "upload", Err: err}
	}
	return ss.Upload, nil
}

// writeChunk creates the chunk object at ss.Offset, hashing it on the way
// when the state before it is known, and records the state after it. It
// returns the session with the chunk appended and that state (nil when
// unknown). A chunk claiming another start, or losing the race for this
// offset, fails with an *served.OffsetError carrying the session as it now
// is.
func (r *Root) writeChunk(ctx context.Context, ss session, start, size int64, body io.Reader) (session, hash.Hash, error) {
	if start >= 0 && start != ss.Offset {
		return ss, nil, &served.OffsetError{Upload: ss.Upload, Start: start}
	}
	h := r.hashAt(ctx, ss.ID, ss.Offset, ss.run, ss.hashes)
	if size == 0 {
		return ss, h, nil
	}
	at := ss.Offset
	c, err := r.putChunk(ctx, r.s.keys.chunk(ss.ID, at), size, body, h)
	if conflict(err) {
		if now, serr := r.status(ctx, ss.Repo, ss.ID); serr == nil {
			ss = now
		}
		return ss, nil, &served.OffsetError{Upload: ss.Upload, Start: at}
	}
	if err != nil {
		return ss, nil, err
	}
	if c.size == 0 {
		return ss, h, nil // an empty body of unknown length: no chunk
	}
	c.off = at
	ss.run = append(ss.run[:len(ss.run):len(ss.run)], c)
	ss.Offset += c.size
	if h != nil {
		r.saveHash(ctx, ss.ID, ss.Offset, ss.run, h)
		ss.hashes[ss.Offset] = true
	}
	return ss, h, nil
}

// putChunk creates key, once, from size bytes of body (size < 0: spooled to
// a temporary file first, since S3 needs the length up front), writing what
// it sends to h too unless h is nil. It returns the chunk stored (no
// offset).
func (r *Root) putChunk(ctx context.Context, key string, size int64, body io.Reader, h hash.Hash) (chunk, error) {
	if h == nil {
		h = discardHash{}
	}
	create := func(src io.Reader, n int64, opts ...func(*s3api.Options)) (chunk, error) {
		out, err := r.s.client.PutObject(ctx, &s3api.PutObjectInput{
			Bucket: &r.s.bucket, Key: &key, Body: src, ContentLength: aws.Int64(n),
			IfNoneMatch: aws.String("*"),
		}, append(opts, unsignedPayload)...)
		if err != nil {
			return chunk{}, classify(err)
		}
		return chunk{key: key, size: n, etag: aws.ToString(out.ETag)}, nil
	}
	if size < 0 {
		tmp, err := os.CreateTemp("", "stevedore-s3-chunk-")
		if err != nil {
			return chunk{}, err
		}
		defer func() {
			tmp.Close()
			os.Remove(tmp.Name())
		}()
		n, err := io.Copy(io.MultiWriter(tmp, h), oci.ContextReader(ctx, body))
		if err != nil {
			return chunk{}, err
		}
		if n == 0 {
			return chunk{key: key}, nil
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return chunk{}, err
		}
		return create(tmp, n)
	}
	src := &countingReader{r: &stickyReader{r: oci.ContextReader(ctx, body)}}
	// Hashed as handed to the request: a chunk that is stored is exactly
	// the bytes hashed.
	c, err := create(io.TeeReader(io.LimitReader(src, size), h), size, noRetry)
	if err != nil && !conflict(err) {
		if sr := src.r.(*stickyReader); sr.err != nil {
			return chunk{}, sr.err
		}
		if src.n < size {
			return chunk{}, fmt.Errorf("chunk declared %d bytes, body had %d: %w", size, src.n, errdef.ErrSizeMismatch)
		}
	}
	return c, err
}

// discardHash is the hash.Hash of a chunk nobody can use the state of.
type discardHash struct{ hash.Hash }

func (discardHash) Write(p []byte) (int, error) { return len(p), nil }

// CommitUpload appends the last chunk, if any, checks the upload hashes to
// d — from the hash state the chunks left, or else by reading them — and
// only then makes it blob d, copying the chunks into the blob's final key
// server-side. A wrong digest writes nothing (and keeps the session). Then
// the repository is marked as holding it and the session removed; a crash
// in between leaves only chunks that expiry removes. A session with no
// chunks whose body comes with the commit streams straight into the blob's
// key instead.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks (closing the upload):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func (r *Root) CommitUpload(ctx context.Context, repo, id string, d digest.Digest, start, size int64, body io.Reader) (int64, error) {
	n, err := r.commit(ctx, repo, id, d, start, size, body)
	if err != nil {
		return 0, &store.Error{Op: "upload", Digest: d, Err: err}
	}
	return n, nil
}

func (r *Root) commit(ctx context.Context, repo, id string, d digest.Digest, start, size int64, body io.Reader) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, fmt.Errorf("digest %q: %v: %w", d, err, errdef.ErrInvalid)
	}
	ss, err := r.status(ctx, repo, id)
	if err != nil {
		return 0, err
	}
	var n int64
	if body != nil && ss.Offset == 0 {
		if n, err = r.commitWhole(ctx, ss, d, start, size, body); err != nil {
			return 0, err
		}
	} else if n, err = r.commitChunks(ctx, ss, d, start, size, body); err != nil {
		return 0, err
	}
	rs, err := r.CreateRepo(ctx, repo)
	if err != nil {
		return 0, err
	}
	if err := rs.(*Store).addMember(ctx, d); err != nil {
		return 0, err
	}
	// The blob is in: failing to tidy must not fail the push.
	_ = r.removeUpload(context.WithoutCancel(ctx), id)
	return n, nil
}

// commitWhole stores body, the whole upload, as blob d, verified on the way.
func (r *Root) commitWhole(ctx context.Context, ss session, d digest.Digest, start, size int64, body io.Reader) (int64, error) {
	if start > 0 {
		return 0, &served.OffsetError{Upload: ss.Upload, Start: start}
	}
	vr := oci.NewVerifyReader(oci.ContextReader(ctx, body), d, size)
	cr := &countingReader{r: vr}
	if _, err := r.s.stat(ctx, d); err == nil {
		// Stored already (another repository, another replica): the upload
		// must still prove it is those bytes before the repository gets them.
		_, err := io.CopyBuffer(io.Discard, cr, make([]byte, 1<<20))
		return cr.n, err
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return 0, err
	}
	if err := r.s.putNew(ctx, d, size, cr); err != nil {
		return 0, err
	}
	return cr.n, nil
}

// commitChunks appends body, if any, as the last chunk, checks the chunks
// hash to d and assembles them into blob d unless it is stored already.
func (r *Root) commitChunks(ctx context.Context, ss session, d digest.Digest, start, size int64, body io.Reader) (int64, error) {
	var h hash.Hash
	var err error
	if body != nil {
		ss, h, err = r.writeChunk(ctx, ss, start, size, body)
	} else {
		h = r.hashAt(ctx, ss.ID, ss.Offset, ss.run, ss.hashes)
	}
	if err != nil {
		return 0, err
	}
	if h != nil && d.Algorithm() == digest.SHA256 {
		if got := digest.NewDigest(digest.SHA256, h); got != d {
			return 0, fmt.Errorf("upload %s hashes to %s, not %s: %w", ss.ID, got, d, errdef.ErrDigestMismatch)
		}
	} else {
		// No state to trust (a writer died before saving it) or another
		// algorithm: read the chunks back through the check.
		src := &segmentsReader{ctx: ctx, s: r.s, segs: wholeChunks(ss.run)}
		defer src.Close()
		if _, err := io.CopyBuffer(io.Discard, oci.NewVerifyReader(src, d, ss.Offset), make([]byte, 1<<20)); err != nil {
			return 0, err
		}
	}
	if _, err := r.s.stat(ctx, d); errors.Is(err, errdef.ErrNotFound) {
		err = r.s.assemble(ctx, r.s.keys.blob(d), ss.run)
		if err != nil {
			return 0, err
		}
	} else if err != nil {
		return 0, err
	}
	return ss.Offset, nil
}

// CancelUpload removes the session and its chunks.
//
// distribution-spec v1.1.1 §Deleting an upload:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func (r *Root) CancelUpload(ctx context.Context, repo, id string) error {
	if _, err := r.status(ctx, repo, id); err != nil {
		return &store.Error{Op: "upload", Err: err}
	}
	if err := r.removeUpload(ctx, id); err != nil {
		return &store.Error{Op: "upload", Err: err}
	}
	return nil
}

// removeUpload deletes the chunks, then the session, so a session never
// disappears while chunks it would account for remain unlisted.
func (r *Root) removeUpload(ctx context.Context, id string) error {
	objs, err := r.s.list(ctx, r.s.keys.upload(id))
	if err != nil {
		return err
	}
	session := r.s.keys.session(id)
	for _, o := range objs {
		if o.key == session {
			continue
		}
		if err := r.s.remove(ctx, o.key); err != nil {
			return err
		}
	}
	return r.s.remove(ctx, session)
}

// ExpireUploads removes sessions started before cutoff (or, with no session
// record, whose newest object is older) and returns how many. Any replica
// may run it; a bucket lifecycle rule on uploads/ is the backstop when none
// does.
func (r *Root) ExpireUploads(ctx context.Context, cutoff time.Time) (int, error) {
	dirs, err := r.s.listDirs(ctx, r.s.keys.uploads())
	if err != nil {
		return 0, &store.Error{Op: "expire", Err: err}
	}
	n := 0
	for _, dir := range dirs {
		id := strings.TrimSuffix(strings.TrimPrefix(dir, r.s.keys.uploads()), "/")
		if !uploadIDRE.MatchString(id) {
			continue
		}
		if b, _, err := r.s.getRecord(ctx, r.s.keys.session(id)); err == nil {
			var rec sessionRecord
			if json.Unmarshal(b, &rec) == nil && rec.Started.After(cutoff) {
				continue
			}
		} else if errors.Is(err, errdef.ErrNotFound) {
			objs, err := r.s.list(ctx, dir)
			if err != nil {
				continue
			}
			young := false
			for _, o := range objs {
				young = young || o.modified.After(cutoff)
			}
			if young {
				continue // a session being created or removed right now
			}
		} else {
			continue
		}
		if r.removeUpload(ctx, id) == nil {
			n++
		}
	}
	return n, ctx.Err()
}

// CountUploads returns how many sessions the bucket holds.
func (r *Root) CountUploads(ctx context.Context) (int, error) {
	dirs, err := r.s.listDirs(ctx, r.s.keys.uploads())
	if err != nil {
		return 0, &store.Error{Op: "uploads", Err: err}
	}
	return len(dirs), nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
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
