package s3

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// object is one listed object.
type object struct {
	key      string
	size     int64
	modified time.Time
	etag     string
}

// list returns every object under prefix, in key order.
func (s *Store) list(ctx context.Context, prefix string) ([]object, error) {
	var out []object
	p := s3api.NewListObjectsV2Paginator(s.client, &s3api.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for _, o := range page.Contents {
			out = append(out, object{key: aws.ToString(o.Key), size: aws.ToInt64(o.Size), modified: aws.ToTime(o.LastModified), etag: aws.ToString(o.ETag)})
		}
	}
	return out, nil
}

// listDirs returns the "directories" directly under prefix (common prefixes
// with delimiter "/"), each with its trailing "/".
func (s *Store) listDirs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := s3api.NewListObjectsV2Paginator(s.client, &s3api.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix, Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, aws.ToString(cp.Prefix))
		}
	}
	return out, nil
}

// head checks key exists.
func (s *Store) head(ctx context.Context, key string) error {
	_, err := s.client.HeadObject(ctx, &s3api.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	return classify(err)
}

// putRecord writes the small object key: created only if absent when
// ifNoneMatch, replaced only if its ETag is still ifMatch when that is set,
// unconditionally otherwise. A lost condition matches errdef.ErrAlreadyExists.
//
// S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
func (s *Store) putRecord(ctx context.Context, key string, b []byte, ifNoneMatch bool, ifMatch string) (string, error) {
	in := &s3api.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b)))}
	if ifNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return "", classify(err)
	}
	return aws.ToString(out.ETag), nil
}

// createOnce creates the marker key unless it exists; either way it exists
// afterwards.
func (s *Store) createOnce(ctx context.Context, key string, b []byte) error {
	if _, err := s.putRecord(ctx, key, b, true, ""); err != nil && !conflict(err) {
		return err
	}
	return nil
}

// remove deletes key; S3 treats a missing key as deleted already.
func (s *Store) remove(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3api.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	return classify(err)
}

// removeIf deletes key only while its ETag is still etag, so a write that
// came after the caller looked at the object survives. A lost condition (the
// object changed: 412) matches errdef.ErrAlreadyExists; an object already
// gone is no error, as for remove. A server that ignores the condition
// degrades this to remove, leaving only the moment between the caller's
// read and the delete unguarded.
//
// S3 conditional deletes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html
func (s *Store) removeIf(ctx context.Context, key, etag string) error {
	_, err := s.client.DeleteObject(ctx, &s3api.DeleteObjectInput{Bucket: &s.bucket, Key: &key, IfMatch: aws.String(etag)})
	if err = classify(err); errors.Is(err, errdef.ErrNotFound) {
		return nil
	}
	return err
}

// headInfo returns key's ETag and LastModified.
func (s *Store) headInfo(ctx context.Context, key string) (string, time.Time, error) {
	out, err := s.client.HeadObject(ctx, &s3api.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return "", time.Time{}, classify(err)
	}
	return aws.ToString(out.ETag), aws.ToTime(out.LastModified), nil
}
