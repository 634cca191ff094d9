package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// A repository opened through a Root keeps repositories isolated the way
// per-repository layouts do: a marker repos/<name>/_blobs/<alg>/<hex>
// says the repository holds a blob, Stat and Open look for it before the
// global blob, and deleting a blob from a repository removes only the marker.
// Bytes are freed by the collector once no repository marks or references
// them.

var (
	_ served.Repository  = (*Store)(nil)
	_ served.BlobLocator = (*Store)(nil)
)

// statMember is stat for what s's repository holds; a Store without
// membership markers sees every blob.
func (s *Store) statMember(ctx context.Context, d digest.Digest) (int64, error) {
	if err := oci.ValidateDigest(d); err != nil {
		return 0, err
	}
	if s.members {
		if err := s.head(ctx, s.keys.member(s.repo, d)); err != nil {
			return 0, fmt.Errorf("blob: %w", err)
		}
	}
	return s.stat(ctx, d)
}

// addMember records that s's repository holds d. It is written even when it
// exists: its fresh LastModified tells a concurrent collector the blob is in
// use, and its fresh content a fresh ETag, which makes the collector's
// conditional delete of the old marker fail (see Root.GC).
func (s *Store) addMember(ctx context.Context, d digest.Digest) error {
	if !s.members {
		return nil
	}
	_, err := s.putRecord(ctx, s.keys.member(s.repo, d), memberStamp(), false, "")
	return err
}

// memberStamp is the content of a membership marker: unique per write, so
// that every rewrite changes the marker's ETag (S3's ETag of a single-part
// object is the MD5 of its bytes, so rewriting the same bytes would not).
func memberStamp() []byte {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	return []byte(time.Now().UTC().Format(time.RFC3339Nano) + " " + hex.EncodeToString(rnd[:]))
}

// Delete removes blob d from s's repository. The bytes stay until the
// collector finds no repository holds them.
//
// distribution-spec v1.1.1 §Deleting blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-blobs
func (s *Store) Delete(ctx context.Context, d digest.Digest) error {
	fail := func(err error) error { return &store.Error{Op: "delete", Digest: d, Err: err} }
	if err := s.needRepo(ctx); err != nil {
		return fail(err)
	}
	if !s.members {
		// Without markers the blob is every user's: only the collector may
		// remove it.
		return fail(fmt.Errorf("blobs of a store shared without membership markers cannot be deleted one by one: %w", errdef.ErrUnsupported))
	}
	if _, err := s.statMember(ctx, d); err != nil {
		return fail(err)
	}
	if err := s.remove(ctx, s.keys.member(s.repo, d)); err != nil {
		return fail(err)
	}
	return nil
}

// AddRoot records the stored manifest desc as an untagged root of s's
// repository: repos/<name>/_manifests/<alg>/<hex> holds its descriptor.
func (s *Store) AddRoot(ctx context.Context, desc oci.Descriptor) error {
	fail := func(err error) error { return &store.Error{Op: "root", Digest: desc.Digest, Err: err} }
	if err := s.needRepo(ctx); err != nil {
		return fail(err)
	}
	if desc.MediaType == "" {
		return fail(fmt.Errorf("descriptor has no media type: %w", errdef.ErrInvalid))
	}
	size, err := s.statMember(ctx, desc.Digest)
	if err != nil {
		return fail(err)
	}
	if size != desc.Size {
		return fail(fmt.Errorf("manifest is stored with %d bytes, descriptor says %d: %w", size, desc.Size, errdef.ErrSizeMismatch))
	}
	desc.Annotations = nil
	raw, err := json.Marshal(desc)
	if err != nil {
		return fail(err)
	}
	if err := s.createOnce(ctx, s.keys.manifest(s.repo, desc.Digest), raw); err != nil {
		return fail(err)
	}
	return nil
}

// Untag removes tag from s's repository.
//
// distribution-spec v1.1.1 §Deleting tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-tags
func (s *Store) Untag(ctx context.Context, tag string) error {
	fail := func(err error) error { return &store.Error{Op: "untag", Err: err} }
	if err := s.checkTag(ctx, tag); err != nil {
		return fail(err)
	}
	key := s.keys.tag(s.repo, tag)
	if err := s.head(ctx, key); err != nil {
		return fail(fmt.Errorf("tag %q: %w", tag, err))
	}
	if err := s.remove(ctx, key); err != nil {
		return fail(err)
	}
	return nil
}

// DeleteManifest removes manifest d from s's repository: the tags naming it,
// its root record and its membership marker.
//
// distribution-spec v1.1.1 §Deleting manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-manifests
func (s *Store) DeleteManifest(ctx context.Context, d digest.Digest) error {
	fail := func(err error) error { return &store.Error{Op: "delete", Digest: d, Err: err} }
	if err := s.needRepo(ctx); err != nil {
		return fail(err)
	}
	if _, err := s.statMember(ctx, d); err != nil {
		return fail(err)
	}
	tags, err := s.Tags(ctx)
	if err != nil {
		return fail(err)
	}
	for _, t := range tags {
		if err := s.untagIf(ctx, t, d); err != nil {
			return fail(err)
		}
	}
	if err := s.remove(ctx, s.keys.manifest(s.repo, d)); err != nil {
		return fail(err)
	}
	if err := s.remove(ctx, s.keys.member(s.repo, d)); err != nil {
		return fail(err)
	}
	return nil
}

// untagIf removes tag if it names manifest d. The delete is conditional on
// the ETag of the tag object as read, so a tag another request moves to
// another manifest meanwhile keeps its new target: a lost condition (412)
// means exactly that, and leaves the tag alone.
//
// S3 conditional deletes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html
func (s *Store) untagIf(ctx context.Context, tag string, d digest.Digest) error {
	key := s.keys.tag(s.repo, tag)
	b, etag, err := s.getRecord(ctx, key)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil // untagged since the listing
	}
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	var desc oci.Descriptor
	if json.Unmarshal(b, &desc) != nil || desc.Digest != d {
		return nil
	}
	if err := s.removeIf(ctx, key, etag); err != nil && !conflict(err) {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	return nil
}

// BlobURL presigns a GET of blob d against the public endpoint, for
// registries that redirect blob downloads to the object store.
//
// S3 presigned URLs: https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html
func (s *Store) BlobURL(ctx context.Context, d digest.Digest, ttl time.Duration) (string, error) {
	if _, err := s.statMember(ctx, d); err != nil {
		return "", &store.Error{Op: "url", Digest: d, Err: err}
	}
	key := s.keys.blob(d)
	req, err := s.presign.PresignGetObject(ctx, &s3api.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3api.WithPresignExpires(ttl))
	if err != nil {
		return "", &store.Error{Op: "url", Digest: d, Err: classify(err)}
	}
	return req.URL, nil
}

func (s *Store) needRepo(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.repo == "" {
		return fmt.Errorf("store has no repository: %w", errdef.ErrInvalid)
	}
	return nil
}

// Close is a no-op: a Store holds nothing open between requests.
func (s *Store) Close() error { return nil }

// WalkBlobs calls fn for every blob the repository holds (every blob of the
// bucket for a Store without membership markers), with its size.
func (s *Store) WalkBlobs(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	if !s.members {
		prefix := s.keys.prefix + "blobs/"
		objs, err := s.list(ctx, prefix)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if d, ok := digestOfKey(strings.TrimPrefix(o.key, prefix)); ok {
				if err := fn(d, o.size); err != nil {
					return err
				}
			}
		}
		return nil
	}
	prefix := s.keys.members(s.repo)
	objs, err := s.list(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		d, ok := digestOfKey(strings.TrimPrefix(o.key, prefix))
		if !ok {
			continue
		}
		size, err := s.stat(ctx, d)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // collected meanwhile
		}
		if err != nil {
			return err
		}
		if err := fn(d, size); err != nil {
			return err
		}
	}
	return nil
}

// digestOfKey reads ALG/HEX, the tail of a blob or member key.
func digestOfKey(tail string) (digest.Digest, bool) {
	alg, hex, ok := strings.Cut(tail, "/")
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
	return d, ok && oci.ValidateDigest(d) == nil
}
