package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// recordLimit bounds the small JSON objects (tags) read whole.
const recordLimit = 64 << 10

// casAttempts bounds a compare-and-swap loop; contention on one key beyond
// this many rounds is a bug or an attack, not load.
const casAttempts = 32

// Resolve returns the descriptor tagged tag in s's repository.
func (s *Store) Resolve(ctx context.Context, tag string) (oci.Descriptor, error) {
	fail := func(err error) (oci.Descriptor, error) {
		return oci.Descriptor{}, &store.Error{Op: "resolve", Err: err}
	}
	if err := s.checkTag(ctx, tag); err != nil {
		return fail(err)
	}
	b, _, err := s.getRecord(ctx, s.keys.tag(s.repo, tag))
	if err != nil {
		return fail(fmt.Errorf("tag %q: %w", tag, err))
	}
	var desc oci.Descriptor
	if err := json.Unmarshal(b, &desc); err != nil {
		return fail(fmt.Errorf("tag %q: stored descriptor is not valid JSON: %v: %w", tag, err, errdef.ErrInvalid))
	}
	return desc, nil
}

// Tag points tag at desc, which must be stored and carry its media type. The
// tag object is replaced by compare-and-swap (If-Match on the ETag read, or
// If-None-Match: * when there was none), so each write is based on the
// state it read; with many writers, the last to succeed wins and no write
// is torn.
func (s *Store) Tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	if err := s.tag(ctx, desc, tag); err != nil {
		return &store.Error{Op: "tag", Digest: desc.Digest, Err: err}
	}
	return nil
}

func (s *Store) tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	if err := s.checkTag(ctx, tag); err != nil {
		return err
	}
	if desc.MediaType == "" {
		return fmt.Errorf("tag %q: descriptor has no media type: %w", tag, errdef.ErrInvalid)
	}
	size, err := s.stat(ctx, desc.Digest)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	if size != desc.Size {
		return fmt.Errorf("tag %q: manifest is stored with %d bytes, descriptor says %d: %w", tag, size, desc.Size, errdef.ErrSizeMismatch)
	}
	raw, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	return s.update(ctx, s.keys.tag(s.repo, tag), func([]byte) ([]byte, error) { return raw, nil })
}

// Tags lists the tags of s's repository in lexical order.
func (s *Store) Tags(ctx context.Context) ([]string, error) {
	fail := func(err error) ([]string, error) { return nil, &store.Error{Op: "tags", Err: err} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if s.repo == "" {
		return fail(fmt.Errorf("store has no repository: %w", errdef.ErrInvalid))
	}
	prefix := s.keys.tags(s.repo)
	tags := []string{}
	p := s3api.NewListObjectsV2Paginator(s.client, &s3api.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fail(classify(err))
		}
		for _, o := range page.Contents {
			tag, err := url.PathUnescape(strings.TrimPrefix(aws.ToString(o.Key), prefix))
			if err != nil || store.ValidateTag(tag) != nil {
				continue // not ours; a stray object must not break the listing
			}
			tags = append(tags, tag)
		}
	}
	slices.Sort(tags)
	return tags, nil
}

func (s *Store) checkTag(ctx context.Context, tag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.repo == "" {
		return fmt.Errorf("store has no repository: %w", errdef.ErrInvalid)
	}
	return store.ValidateTag(tag)
}

// getRecord reads the small object key whole and returns it with its ETag.
func (s *Store) getRecord(ctx context.Context, key string) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3api.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, "", classify(err)
	}
	defer out.Body.Close()
	b, err := oci.ReadAllLimited(out.Body, recordLimit)
	if err != nil {
		return nil, "", classify(err)
	}
	return b, aws.ToString(out.ETag), nil
}

// update replaces the small object key with fn(its current content; nil when
// absent) by compare-and-swap: the write is conditional on the ETag read
// (If-Match) or on there being no object (If-None-Match: *), and a lost race
// reads again and retries after a short random pause. fn may be called
// several times and must not have side effects.
//
// S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
func (s *Store) update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	for attempt := range casAttempts {
		old, etag, err := s.getRecord(ctx, key)
		if err != nil && !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
		b, err := fn(old)
		if err != nil {
			return err
		}
		if etag != "" && bytes.Equal(b, old) {
			return nil
		}
		in := &s3api.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))), ContentType: aws.String("application/json")}
		if etag == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(etag)
		}
		_, err = s.client.PutObject(ctx, in)
		if err = classify(err); err == nil || !conflict(err) {
			return err
		}
		// Lost the race: back off a little, growing, with jitter so that
		// the losers do not collide again in lockstep.
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return fmt.Errorf("%s: still contended after %d compare-and-swap attempts: %w", key, casAttempts, errdef.ErrUnavailable)
}
