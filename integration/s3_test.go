package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	s3store "github.com/stevedore-dev/stevedore/engine/served/s3"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/store/storetest"
)

// versityGW is a versitygw process: an S3 gateway over a local directory
// (posix backend), the S3 server the S3 store is tested against.
type versityGW struct {
	Endpoint             string // http://127.0.0.1:PORT
	AccessKey, SecretKey string
	proc                 *proc
	client               *s3api.Client // raw client, to look behind the store's back
	buckets              atomic.Int64
}

// startVersity runs `versitygw posix DIR` on a free port and waits until it
// answers an authenticated ListBuckets. The data directory needs xattrs
// (ext4 and tmpfs have them).
func startVersity(o owner, name string) (*versityGW, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir := o.TempDir()
	gw := &versityGW{Endpoint: "http://" + addr, AccessKey: "stevedoretest", SecretKey: "stevedoretestsecret"}
	env := []string{"ROOT_ACCESS_KEY=" + gw.AccessKey, "ROOT_SECRET_KEY=" + gw.SecretKey}
	if gw.proc, err = startProc(o, name, env, "versitygw", "--port", addr, "posix", dir); err != nil {
		return nil, err
	}
	gw.client = s3api.New(s3api.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(gw.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(gw.AccessKey, gw.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           1,
	})
	err = gw.proc.waitReady(30*time.Second, func(ctx context.Context) error {
		_, err := gw.client.ListBuckets(ctx, &s3api.ListBucketsInput{})
		return err
	})
	if err != nil {
		return nil, err
	}
	return gw, nil
}

// bucket creates a fresh bucket.
func (gw *versityGW) bucket(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("stevedore-%d-%d", time.Now().UnixNano()%1e9, gw.buckets.Add(1))
	if _, err := gw.client.CreateBucket(context.Background(), &s3api.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
	return name
}

// store opens an S3 store on a fresh bucket; opts adjusts the options.
func (gw *versityGW) store(t *testing.T, opts func(*s3store.Options)) (*s3store.Store, string) {
	t.Helper()
	o := s3store.Options{
		Endpoint: gw.Endpoint, Bucket: gw.bucket(t), Prefix: "stevedore", Repository: "test/repo",
		AccessKey: gw.AccessKey, SecretKey: gw.SecretKey,
	}
	if opts != nil {
		opts(&o)
	}
	s, err := s3store.New(context.Background(), o)
	if err != nil {
		t.Fatalf("s3 store: %v", err)
	}
	return s, o.Bucket
}

// keys lists every object of bucket and every multipart upload in progress.
func (gw *versityGW) keys(t *testing.T, bucket string) (objects, uploads []string) {
	t.Helper()
	ctx := context.Background()
	p := s3api.NewListObjectsV2Paginator(gw.client, &s3api.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			objects = append(objects, aws.ToString(o.Key))
		}
	}
	mu, err := gw.client.ListMultipartUploads(ctx, &s3api.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range mu.Uploads {
		uploads = append(uploads, aws.ToString(u.Key))
	}
	return objects, uploads
}

// TestS3Store runs the store conformance suite and the S3-specific promises
// (conditional writes, concurrent tag moves, streaming without buffering,
// nothing visible after a failed put) against versitygw.
func TestS3Store(t *testing.T) {
	needTools(t, "versitygw")
	gw, err := startVersity(t, "versitygw")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, _ := gw.store(t, nil)
			return s
		})
	})

	t.Run("ProbeConditionalWrites", func(t *testing.T) {
		s, bucket := gw.store(t, nil)
		if err := s.ProbeConditionalWrites(ctx); err != nil {
			t.Fatalf("versitygw fails the conditional-write probe: %v", err)
		}
		if objs, _ := gw.keys(t, bucket); len(objs) != 0 {
			t.Errorf("probe left objects behind: %q", objs)
		}
	})

	t.Run("TagMovedConcurrently", func(t *testing.T) {
		s, _ := gw.store(t, nil)
		b1, m1 := storetest.Manifest("one")
		b2, m2 := storetest.Manifest("two")
		for _, x := range []struct {
			b []byte
			d oci.Descriptor
		}{{b1, m1}, {b2, m2}} {
			if err := s.Put(ctx, x.d, bytes.NewReader(x.b)); err != nil {
				t.Fatal(err)
			}
		}
		// A second Store on the same bucket, as another replica would have.
		other, err := s.Repo(s.Repository())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i, w := range []struct {
			s *s3store.Store
			d oci.Descriptor
		}{{s, m1}, {other, m2}} {
			wg.Go(func() {
				for j := range 20 {
					if err := w.s.Tag(ctx, w.d, "latest"); err != nil {
						t.Errorf("writer %d, move %d: %v", i, j, err)
						return
					}
				}
			})
		}
		wg.Wait()
		got, err := s.Resolve(ctx, "latest")
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != m1.Digest && got.Digest != m2.Digest || got.MediaType != oci.MediaTypeImageManifest {
			t.Fatalf("after concurrent moves latest = %+v, want one of the two manifests", got)
		}
		if tags, err := s.Tags(ctx); err != nil || fmt.Sprint(tags) != "[latest]" {
			t.Fatalf("Tags = %q, %v", tags, err)
		}
	})

	t.Run("TagKeysStayInOneSegment", func(t *testing.T) {
		s, bucket := gw.store(t, nil)
		b, m := storetest.Manifest("escaped")
		if err := s.Put(ctx, m, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		const tag = "v1/../../../blobs/sha256:x+y@z"
		if err := s.Tag(ctx, m, tag); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Resolve(ctx, tag); err != nil || got.Digest != m.Digest {
			t.Fatalf("Resolve = %v, %v", got.Digest, err)
		}
		if tags, _ := s.Tags(ctx); fmt.Sprint(tags) != "["+tag+"]" {
			t.Fatalf("Tags = %q", tags)
		}
		objs, _ := gw.keys(t, bucket)
		want := []string{"stevedore/blobs/sha256/" + m.Digest.Encoded(), "stevedore/repos/test/repo/_tags/v1%2F..%2F..%2F..%2Fblobs%2Fsha256%3Ax%2By%40z"}
		if fmt.Sprint(objs) != fmt.Sprint(want) {
			t.Fatalf("bucket holds %q, want %q", objs, want)
		}
	})

	t.Run("WrongDigestLeavesNothing", func(t *testing.T) {
		for _, size := range []int64{17 << 20, -1} {
			t.Run(fmt.Sprint(size), func(t *testing.T) {
				s, bucket := gw.store(t, func(o *s3store.Options) { o.PartSize = 5 << 20 })
				want := digest.FromString("something else")
				desc := oci.Descriptor{Digest: want, Size: size}
				err := s.Put(ctx, desc, io.LimitReader(newPatternReader(1), 17<<20))
				if !errors.Is(err, errdef.ErrDigestMismatch) {
					t.Fatalf("Put = %v, want ErrDigestMismatch", err)
				}
				objs, uploads := gw.keys(t, bucket)
				if len(objs) != 0 || len(uploads) != 0 {
					t.Fatalf("after a failed put the bucket holds objects %q and uploads %q", objs, uploads)
				}
			})
		}
	})

	t.Run("UnknownSizeManyParts", func(t *testing.T) {
		s, bucket := gw.store(t, func(o *s3store.Options) { o.PartSize = 5 << 20 })
		const size = 11<<20 + 123
		d := patternDigest(t, 2, size)
		if err := s.Put(ctx, oci.Descriptor{Digest: d, Size: -1}, io.LimitReader(newPatternReader(2), size)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Stat(ctx, d); err != nil || n != size {
			t.Fatalf("Stat = %d, %v", n, err)
		}
		if _, uploads := gw.keys(t, bucket); len(uploads) != 0 {
			t.Fatalf("uploads left in progress: %q", uploads)
		}
	})

	t.Run("BigBlobFlatMemory", func(t *testing.T) {
		if testing.Short() {
			t.Skip("moves 64 MiB")
		}
		s, _ := gw.store(t, nil)
		const size = 64 << 20
		d := patternDigest(t, 3, size)
		peak := watchHeap(t)
		if err := s.Put(ctx, oci.Descriptor{Digest: d, Size: size}, io.LimitReader(newPatternReader(3), size)); err != nil {
			t.Fatal(err)
		}
		rc, n, err := s.Open(ctx, d)
		if err != nil || n != size {
			t.Fatalf("Open = %d, %v", n, err)
		}
		if _, err := io.Copy(io.Discard, oci.NewVerifyReader(rc, d, n)); err != nil {
			t.Fatalf("verified read back: %v", err)
		}
		rc.Close()
		if grew := peak(); grew > 24<<20 {
			t.Fatalf("heap grew by %d MiB moving a 64 MiB blob; it must be streamed", grew>>20)
		} else {
			t.Logf("heap grew by at most %.1f MiB moving a 64 MiB blob", float64(grew)/(1<<20))
		}
	})
}

// patternReader yields a repeatable pseudo-random stream, so big blobs need
// not be held in memory to be hashed and then sent.
type patternReader struct{ r *rand.ChaCha8 }

func newPatternReader(seed byte) *patternReader {
	var s [32]byte
	s[0] = seed
	return &patternReader{r: rand.NewChaCha8(s)}
}

func (p *patternReader) Read(b []byte) (int, error) { return p.r.Read(b) }

func patternDigest(t *testing.T, seed byte, size int64) digest.Digest {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(newPatternReader(seed), size)); err != nil {
		t.Fatal(err)
	}
	return digest.NewDigest(digest.SHA256, h)
}

// watchHeap samples the live heap every few milliseconds until the returned
// function is called, which reports the largest growth over the baseline.
func watchHeap(t *testing.T) func() uint64 {
	t.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		if p := peak.Load(); p > base {
			return p - base
		}
		return 0
	}
}
