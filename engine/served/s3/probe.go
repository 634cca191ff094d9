package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// ProbeConditionalWrites checks that the server honours the conditional
// writes every shared-state write of this package relies on: a second
// PutObject with If-None-Match: * must fail (412), a PutObject with If-Match
// on the current ETag must succeed, and one on a stale ETag must fail. A
// server that ignores the headers (older S3-compatible gateways do) would let
// replicas overwrite each other silently; the error then matches
// errdef.ErrUnsupported, and multi-replica mode must refuse to start.
//
// S3 conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
func (s *Store) ProbeConditionalWrites(ctx context.Context) error {
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	key := s.keys.probe(hex.EncodeToString(rnd[:]))
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = s.client.DeleteObject(ctx, &s3api.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	}()
	put := func(body string, ifNoneMatch, ifMatch *string) (string, error) {
		out, err := s.client.PutObject(ctx, &s3api.PutObjectInput{
			Bucket: &s.bucket, Key: &key, Body: bytes.NewReader([]byte(body)), ContentLength: aws.Int64(int64(len(body))),
			IfNoneMatch: ifNoneMatch, IfMatch: ifMatch,
		})
		if err != nil {
			return "", classify(err)
		}
		return aws.ToString(out.ETag), nil
	}
	unsupported := func(what string) error {
		return fmt.Errorf("s3 probe: bucket %q: %s; stevedore replicas cannot share this store safely: %w", s.bucket, what, errdef.ErrUnsupported)
	}
	first, err := put("create", aws.String("*"), nil)
	if err != nil {
		return fmt.Errorf("s3 probe: create-once write: %w", err)
	}
	switch _, err := put("create again", aws.String("*"), nil); {
	case err == nil:
		return unsupported("a second If-None-Match: * write succeeded")
	case !conflict(err):
		return fmt.Errorf("s3 probe: second create-once write: %w", err)
	}
	if _, err := put("swap", nil, aws.String(first)); err != nil {
		if conflict(err) {
			return unsupported("If-Match with the current ETag was refused")
		}
		return fmt.Errorf("s3 probe: compare-and-swap write: %w", err)
	}
	switch _, err := put("stale swap", nil, aws.String(first)); {
	case err == nil:
		return unsupported("If-Match with a stale ETag succeeded")
	case !conflict(err):
		return fmt.Errorf("s3 probe: stale compare-and-swap write: %w", err)
	}
	b, _, err := s.getRecord(ctx, key)
	if err != nil {
		return fmt.Errorf("s3 probe: read back: %w", err)
	}
	if string(b) != "swap" {
		return unsupported(fmt.Sprintf("after the conditional writes the object holds %q, want %q", b, "swap"))
	}
	return nil
}
