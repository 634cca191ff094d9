package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	up, _, err := r.status(ctx, repo, id)
	if err != nil {
		return served.Upload{}, &store.Error{Op: "upload", Err: err}
	}
	return up, nil
}

// status reads the session and its chunks; the chunks returned are the
// contiguous run from offset 0.
func (r *Root) status(ctx context.Context, repo, id string) (served.Upload, []chunk, error) {
	if err := ctx.Err(); err != nil {
		return served.Upload{}, nil, err
	}
	if !uploadIDRE.MatchString(id) {
		return served.Upload{}, nil, fmt.Errorf("upload %q: not a session id: %w", id, errdef.ErrNotFound)
	}
	b, _, err := r.s.getRecord(ctx, r.s.keys.session(id))
	if err != nil {
		return served.Upload{}, nil, fmt.Errorf("upload %s: %w", id, err)
	}
	var rec sessionRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return served.Upload{}, nil, fmt.Errorf("upload %s: session is not valid JSON: %v: %w", id, err, errdef.ErrNotFound)
	}
	if rec.Repo != repo {
		return served.Upload{}, nil, fmt.Errorf("upload %s belongs to another repository: %w", id, errdef.ErrNotFound)
	}
	chunks, err := r.chunks(ctx, id)
	if err != nil {
		return served.Upload{}, nil, err
	}
	up := served.Upload{ID: id, Repo: repo, Started: rec.Started}
	run := chunks[:0]
	for _, c := range chunks {
		if c.off != up.Offset {
			break
		}
		up.Offset += c.size
		run = append(run, c)
	}
	return up, run, nil
}

// chunks lists the chunk objects of session id in offset order.
func (r *Root) chunks(ctx context.Context, id string) ([]chunk, error) {
	prefix := r.s.keys.chunks(id)
	objs, err := r.s.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []chunk
	for _, o := range objs {
		off, err := strconv.ParseInt(strings.TrimPrefix(o.key, prefix), 10, 64)
		if err != nil || off < 0 {
			continue
		}
		out = append(out, chunk{key: o.key, off: off, size: o.size})
	}
	return out, nil
}

// WriteUpload stores body as the session's next chunk.
func (r *Root) WriteUpload(ctx context.Context, repo, id string, start, size int64, body io.Reader) (served.Upload, error) {
	up, _, err := r.status(ctx, repo, id)
	if err == nil {
		up, err = r.writeChunk(ctx, up, start, size, body)
	}
	if err != nil {
		return served.Upload{}, &store.Error{Op: "upload", Err: err}
	}
	return up, nil
}

// writeChunk creates the chunk object at up.Offset. A chunk claiming another
// start, or losing the race for this offset, fails with an *served.OffsetError
// carrying the session as it now is.
func (r *Root) writeChunk(ctx context.Context, up served.Upload, start, size int64, body io.Reader) (served.Upload, error) {
	if start >= 0 && start != up.Offset {
		return up, &served.OffsetError{Upload: up, Start: start}
	}
	if size == 0 {
		return up, nil
	}
	at := up.Offset
	n, err := r.putChunk(ctx, r.s.keys.chunk(up.ID, at), size, body)
	if conflict(err) {
		if now, _, serr := r.status(ctx, up.Repo, up.ID); serr == nil {
			up = now
		}
		return up, &served.OffsetError{Upload: up, Start: at}
	}
	if err != nil {
		return up, err
	}
	up.Offset += n
	return up, nil
}

// putChunk creates key, once, from size bytes of body (size < 0: spooled to
// a temporary file first, since S3 needs the length up front). It returns
// the bytes written.
func (r *Root) putChunk(ctx context.Context, key string, size int64, body io.Reader) (int64, error) {
	create := func(src io.Reader, n int64, opts ...func(*s3api.Options)) error {
		_, err := r.s.client.PutObject(ctx, &s3api.PutObjectInput{
			Bucket: &r.s.bucket, Key: &key, Body: src, ContentLength: aws.Int64(n),
			IfNoneMatch: aws.String("*"),
		}, append(opts, unsignedPayload)...)
		return classify(err)
	}
	if size < 0 {
		tmp, err := os.CreateTemp("", "stevedore-s3-chunk-")
		if err != nil {
			return 0, err
		}
		defer func() {
			tmp.Close()
			os.Remove(tmp.Name())
		}()
		n, err := io.Copy(tmp, oci.ContextReader(ctx, body))
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		return n, create(tmp, n)
	}
	src := &countingReader{r: &stickyReader{r: oci.ContextReader(ctx, body)}}
	err := create(io.LimitReader(src, size), size, noRetry)
	if err != nil && !conflict(err) {
		if sr := src.r.(*stickyReader); sr.err != nil {
			return 0, sr.err
		}
		if src.n < size {
			return 0, fmt.Errorf("chunk declared %d bytes, body had %d: %w", size, src.n, errdef.ErrSizeMismatch)
		}
	}
	return size, err
}

// CommitUpload appends the last chunk, if any, then streams the chunks in
// order through the digest check into the blob's final key: the blob
// appears only if it hashes to d, so a wrong digest writes nothing (and
// keeps the session). Then the repository is marked as holding it and the
// session removed; a crash in between leaves only chunks that expiry removes.
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
	up, _, err := r.status(ctx, repo, id)
	if err != nil {
		return 0, err
	}
	if body != nil {
		if _, err := r.writeChunk(ctx, up, start, size, body); err != nil {
			return 0, err
		}
	}
	up, run, err := r.status(ctx, repo, id)
	if err != nil {
		return 0, err
	}
	src := &chunksReader{ctx: ctx, s: r.s, chunks: run}
	defer src.Close()
	desc := oci.Descriptor{Digest: d, Size: up.Offset}
	if _, err := r.s.stat(ctx, d); err == nil {
		// Stored already (another repository, another replica): the upload
		// must still prove it is those bytes before the repository gets them.
		if _, err := io.CopyBuffer(io.Discard, oci.NewVerifyReader(src, d, up.Offset), make([]byte, 1<<20)); err != nil {
			return 0, err
		}
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return 0, err
	} else if err := r.s.put(ctx, desc, src); err != nil {
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
	return up.Offset, nil
}

// CancelUpload removes the session and its chunks.
//
// distribution-spec v1.1.1 §Deleting an upload:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func (r *Root) CancelUpload(ctx context.Context, repo, id string) error {
	if _, _, err := r.status(ctx, repo, id); err != nil {
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

// chunksReader reads chunk objects one after another, one GET each, opened
// only when the previous one is finished.
type chunksReader struct {
	ctx    context.Context
	s      *Store
	chunks []chunk
	body   io.ReadCloser
	left   int64 // bytes still expected from body
}

func (c *chunksReader) Read(p []byte) (int, error) {
	for {
		if c.body == nil {
			if len(c.chunks) == 0 {
				return 0, io.EOF
			}
			ch := c.chunks[0]
			c.chunks = c.chunks[1:]
			out, err := c.s.client.GetObject(c.ctx, &s3api.GetObjectInput{Bucket: &c.s.bucket, Key: &ch.key})
			if err != nil {
				return 0, fmt.Errorf("upload chunk %s: %w", ch.key, classify(err))
			}
			c.body, c.left = out.Body, ch.size
		}
		n, err := c.body.Read(p)
		c.left -= int64(n)
		if errors.Is(err, io.EOF) {
			c.body.Close()
			c.body = nil
			if c.left != 0 {
				return n, fmt.Errorf("upload chunk changed size while read: %w", io.ErrUnexpectedEOF)
			}
			if n == 0 {
				continue
			}
			return n, nil
		}
		if err != nil {
			return n, classify(err)
		}
		return n, nil
	}
}

func (c *chunksReader) Close() error {
	if c.body != nil {
		c.body.Close()
		c.body = nil
	}
	return nil
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
