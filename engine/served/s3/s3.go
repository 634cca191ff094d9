// Package s3 is a store.Store over an S3-compatible object store, so several
// stevedore replicas can share one set of blobs and tags instead of a local
// directory.
//
// Layout, under an optional key prefix:
//
//	blobs/<alg>/<hex>          one global content-addressed namespace: a layer
//	                           pushed to ten repositories is stored once
//	repos/<name>/_tags/<tag>   one small object per tag holding its descriptor
//	                           as JSON; "_tags" can never be a repository path
//	                           component (those start alphanumeric), so nested
//	                           repository names cannot collide with it
//	_probe/<random>            scratch objects of ProbeConditionalWrites
//
// Objects are created and replaced with conditional writes (If-None-Match: *
// to create once, If-Match: <etag> to compare and swap), which is what lets
// concurrent writers on different machines share the bucket without a lock
// service. Use ProbeConditionalWrites to check a server honours them.
//
// S3 API: https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html;
// conditional writes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
package s3

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Options configure New. Only Bucket is required.
type Options struct {
	// Endpoint is the server's base URL, e.g. "http://127.0.0.1:9000"; empty
	// means AWS S3 in Region.
	Endpoint string
	// Region signs requests; empty means "us-east-1", which S3-compatible
	// servers accept.
	Region string
	// Bucket holds everything; it must exist.
	Bucket string
	// Prefix is prepended to every key (a trailing "/" is added), so one
	// bucket can hold several stores; empty means the bucket root.
	Prefix string
	// Repository names the repository whose tags the Store holds; blobs are
	// shared by all. Empty leaves the tag methods failing with
	// errdef.ErrInvalid (see Store.Repo).
	Repository string

	// AccessKey and SecretKey (and SessionToken for temporary credentials)
	// sign requests. When AccessKey is empty they come from the environment
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else from
	// the shared credentials file (see CredentialsFile).
	AccessKey, SecretKey, SessionToken string
	// CredentialsFile is the shared credentials file; empty means
	// $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials.
	CredentialsFile string
	// Profile is the section of CredentialsFile to use; empty means
	// $AWS_PROFILE, else "default".
	Profile string

	// VirtualHostedStyle addresses the bucket as a host name
	// (bucket.endpoint) instead of a path (endpoint/bucket). The zero value,
	// path style, is what S3-compatible servers (versitygw, MinIO, Ceph)
	// expect.
	VirtualHostedStyle bool
	// PartSize is the size of the parts of multipart uploads: Put's of a
	// blob over 5 GiB or of unknown size, and the parts an upload session's
	// chunks are copied into; <= 0 means 32 MiB. Values under S3's 5 MiB
	// minimum are raised to it.
	PartSize int64
	// HTTPClient sends the requests; nil means the SDK's default client.
	HTTPClient *http.Client
	// PublicEndpoint is the base URL clients reach the server at, used in
	// presigned blob URLs (Store.BlobURL); empty means Endpoint.
	PublicEndpoint string
}

// Store is a store.Store over one bucket: blobs global, tags of one
// repository. A Store is safe for concurrent use, and any number of Stores in
// any number of processes may share a bucket. Nothing is cached: the bucket is
// the only truth.
type Store struct {
	client   *s3api.Client
	bucket   string
	keys     keys
	repo     string
	partSize int64
	presign  *s3api.PresignClient
	// members: repository isolation by membership markers, for the
	// repositories a Root hands out (see repo.go); a Store from New shares
	// every blob among its users.
	members bool
}

var _ store.Store = (*Store)(nil)

// Part sizes: S3 refuses parts under 5 MiB (except the last) and more than
// 10,000 parts per upload.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
const (
	defaultPartSize = 32 << 20
	minPartSize     = 5 << 20
	maxParts        = 10000
)

// New returns a Store for opts.Bucket, after checking that the bucket exists
// and the credentials reach it (HeadBucket), so a misconfiguration fails at
// startup rather than on the first push.
func New(ctx context.Context, opts Options) (*Store, error) {
	fail := func(err error) (*Store, error) { return nil, &store.Error{Op: "open", Err: err} }
	if opts.Bucket == "" {
		return fail(fmt.Errorf("s3: no bucket: %w", errdef.ErrInvalid))
	}
	if opts.Repository != "" {
		if err := oci.ValidateRepository(opts.Repository); err != nil {
			return fail(fmt.Errorf("repository %q: %v: %w", opts.Repository, err, errdef.ErrInvalid))
		}
	}
	creds, err := credentialsFor(opts, envLookup)
	if err != nil {
		return fail(err)
	}
	region := opts.Region
	if region == "" {
		region = "us-east-1"
	}
	so := s3api.Options{
		Region:       region,
		Credentials:  creds,
		UsePathStyle: !opts.VirtualHostedStyle,
		// S3-compatible servers reject or mishandle the CRC trailers the SDK
		// now adds by default; compute and check checksums only where an
		// operation requires them. We verify digests ourselves anyway.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if opts.Endpoint != "" {
		so.BaseEndpoint = aws.String(opts.Endpoint)
	}
	if opts.HTTPClient != nil {
		so.HTTPClient = opts.HTTPClient
	}
	part := opts.PartSize
	if part <= 0 {
		part = defaultPartSize
	}
	pub := so
	if opts.PublicEndpoint != "" {
		pub.BaseEndpoint = aws.String(opts.PublicEndpoint)
	}
	s := &Store{
		presign:  s3api.NewPresignClient(s3api.New(pub)),
		client:   s3api.New(so),
		bucket:   opts.Bucket,
		keys:     newKeys(opts.Prefix),
		repo:     opts.Repository,
		partSize: max(part, minPartSize),
	}
	if _, err := s.client.HeadBucket(ctx, &s3api.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fail(fmt.Errorf("bucket %q: %w", s.bucket, classify(err)))
	}
	return s, nil
}

// Repo returns a Store for the tags of repository name, sharing s's client
// and blobs.
func (s *Store) Repo(name string) (*Store, error) {
	if err := oci.ValidateRepository(name); err != nil {
		return nil, &store.Error{Op: "open", Err: fmt.Errorf("repository %q: %v: %w", name, err, errdef.ErrInvalid)}
	}
	c := *s
	c.repo = name
	return &c, nil
}

// Repository returns the name of the repository whose tags s holds.
func (s *Store) Repository() string { return s.repo }

// keys builds every object key, so the layout is in one place.
type keys struct{ prefix string }

func newKeys(prefix string) keys {
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return keys{prefix: prefix}
}

// blob is the key of blob d; d must be valid (oci.ValidateDigest), which
// also keeps it from naming anything outside blobs/.
func (k keys) blob(d digest.Digest) string {
	return k.prefix + "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// tags is the prefix under which repository repo's tag objects live.
func (k keys) tags(repo string) string { return k.prefix + "repos/" + repo + "/_tags/" }

// tag is the key of tag in repository repo.
func (k keys) tag(repo, tag string) string { return k.tags(repo) + escapeTag(tag) }

// probe is the key of a ProbeConditionalWrites scratch object.
func (k keys) probe(id string) string { return k.prefix + "_probe/" + id }

// escapeTag percent-encodes every byte of tag outside [A-Za-z0-9_.-], so a
// tag is always exactly one key segment: the ref.name grammar allows '/',
// and a tag like "a/../../blobs/x" must not turn into a path a file-backed
// server (versitygw's posix backend) resolves elsewhere. Docker tags, the
// common case, stay readable. Tags never contain '%', so unescaping is
// unambiguous.
func escapeTag(tag string) string {
	var b strings.Builder
	for _, c := range []byte(tag) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// Keys of the registry's shared state (see Root); names are validated before
// they get here, and every variable part that could hold a '/' is escaped.

// repoMark is the object whose existence makes name a repository. They sit
// under one flat prefix so listing repositories is one listing, however many
// objects the repositories hold.
func (k keys) repoMark(name string) string { return k.repoMarks() + escapeTag(name) }
func (k keys) repoMarks() string           { return k.prefix + "_repos/" }

// member is the marker saying repository repo holds blob d.
func (k keys) member(repo string, d digest.Digest) string {
	return k.members(repo) + d.Algorithm().String() + "/" + d.Encoded()
}
func (k keys) members(repo string) string { return k.prefix + "repos/" + repo + "/_blobs/" }

// manifest is the untagged-root record of manifest d in repository repo.
func (k keys) manifest(repo string, d digest.Digest) string {
	return k.manifests(repo) + d.Algorithm().String() + "/" + d.Encoded()
}
func (k keys) manifests(repo string) string { return k.prefix + "repos/" + repo + "/_manifests/" }

// referrer is the marker saying referrer names subject in repository repo.
func (k keys) referrer(repo string, subject, referrer digest.Digest) string {
	return k.referrersOf(repo, subject) + referrer.Algorithm().String() + "-" + referrer.Encoded()
}
func (k keys) referrersOf(repo string, subject digest.Digest) string {
	return k.referrers(repo) + subject.Algorithm().String() + "/" + subject.Encoded() + "/"
}
func (k keys) referrers(repo string) string { return k.prefix + "repos/" + repo + "/_referrers/" }

// Upload sessions: uploads/<id>/session, uploads/<id>/chunk/<offset> and
// uploads/<id>/hash/<end offset>, offsets zero-padded so they list in
// numeric order.
func (k keys) uploads() string          { return k.prefix + "uploads/" }
func (k keys) upload(id string) string  { return k.uploads() + id + "/" }
func (k keys) session(id string) string { return k.upload(id) + "session" }
func (k keys) chunks(id string) string  { return k.upload(id) + "chunk/" }
func (k keys) chunk(id string, off int64) string {
	return fmt.Sprintf("%s%020d", k.chunks(id), off)
}
func (k keys) hashes(id string) string { return k.upload(id) + "hash/" }
func (k keys) hash(id string, end int64) string {
	return fmt.Sprintf("%s%020d", k.hashes(id), end)
}

// lease is the object a garbage collector holds while it sweeps.
func (k keys) lease() string { return k.prefix + "gc/lease" }
