package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// fakeS3 is enough of S3 (path style) to unit-test every request pattern of
// the package without a server: HeadBucket; ListObjectsV2 with prefix,
// delimiter and continuation (pages of pageSize keys); HEAD, GET (with a
// Range, and If-Match), PUT, CopyObject and DELETE of objects; multipart
// uploads (create, upload part, upload part copy, complete, abort). PUT,
// CopyObject and CompleteMultipartUpload honour If-None-Match: * and
// If-Match: <etag>, and DELETE honours If-Match, only when conditional is
// set, so the fake can also play a server that ignores them; the copy
// source's x-amz-copy-source-if-match is always honoured.
type fakeS3 struct {
	conditional bool
	pageSize    int // keys per list page; <= 0 means 1000
	mu          sync.Mutex
	objects     map[string][]byte
	modified    map[string]time.Time // LastModified; absent means the zero time
	multipart   map[string]*fakeMultipart
	nextID      int
	log         []string // "METHOD key [range]" for object requests
	// before, when set, runs before each object request is answered, with
	// mu held: a test plays another replica's write landing at that moment
	// by changing objects directly.
	before func(method, key string)
}

// fakeMultipart is one multipart upload in progress.
type fakeMultipart struct {
	key   string
	parts map[int][]byte
}

func fakeETag(b []byte) string { s := md5.Sum(b); return `"` + hex.EncodeToString(s[:]) + `"` }

// s3Error writes S3's error envelope.
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<Error><Code>%s</Code></Error>`, code)
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Bodies are read before locking: a client may be streaming one (an
	// upload part) from another request to this server (a GET of a chunk).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// A body shorter than its Content-Length (the client gave up on
		// it): S3 stores nothing from such a request.
		s3Error(w, http.StatusBadRequest, "IncompleteBody")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	defer f.mu.Unlock()
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if key == "" {
		if r.Method == http.MethodGet && q.Get("list-type") == "2" {
			f.listV2(w, q)
		}
		return // HeadBucket
	}
	line := strings.TrimSpace(r.Method + " " + key + " " + r.Header.Get("Range"))
	if src := r.Header.Get("X-Amz-Copy-Source"); src != "" {
		line += " copy " + strings.TrimSpace(src+" "+r.Header.Get("X-Amz-Copy-Source-Range"))
	}
	f.log = append(f.log, line)
	if f.before != nil {
		f.before(r.Method, key)
	}
	if _, ok := q["uploads"]; ok || q.Get("uploadId") != "" {
		f.multipartOp(w, r, key, q)
		return
	}
	b, ok := f.objects[key]
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		if !ok {
			if r.Method == http.MethodGet {
				s3Error(w, http.StatusNotFound, "NoSuchKey")
			} else {
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		if m := r.Header.Get("If-Match"); m != "" && m != fakeETag(b) {
			s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
			return
		}
		w.Header().Set("ETag", fakeETag(b))
		w.Header().Set("Last-Modified", f.modified[key].UTC().Format(http.TimeFormat))
		if rng := r.Header.Get("Range"); rng != "" {
			lo, hi, ok := fakeRange(rng, len(b))
			if !ok {
				s3Error(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
				return
			}
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", lo, hi-1, len(b)))
			w.Header().Set("Content-Length", strconv.Itoa(hi-lo))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(b[lo:hi])
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == http.MethodGet {
			w.Write(b)
		}
	case http.MethodPut:
		if !f.preconditions(r, key) {
			s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			src, ok := f.copySource(w, r)
			if !ok {
				return
			}
			f.store(key, src)
			fmt.Fprintf(w, `<CopyObjectResult><ETag>%s</ETag></CopyObjectResult>`, fakeETag(src))
			return
		}
		f.store(key, body)
		w.Header().Set("ETag", fakeETag(body))
	case http.MethodDelete:
		if r.Header.Get("If-Match") != "" && !f.preconditions(r, key) {
			s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
			return
		}
		delete(f.objects, key)
		delete(f.modified, key)
		w.WriteHeader(http.StatusNoContent)
	}
}

// fakeRange parses "bytes=lo-" or "bytes=lo-hi" of an object of size bytes
// into [lo, hi).
func fakeRange(rng string, size int) (lo, hi int, ok bool) {
	spec, found := strings.CutPrefix(rng, "bytes=")
	a, b, dash := strings.Cut(spec, "-")
	if !found || !dash {
		return 0, 0, false
	}
	lo, err := strconv.Atoi(a)
	if err != nil || lo >= size {
		return 0, 0, false
	}
	hi = size
	if b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < lo {
			return 0, 0, false
		}
		hi = min(n+1, size)
	}
	return lo, hi, true
}

// copySource returns the bytes x-amz-copy-source names (within
// x-amz-copy-source-range), or answers the error itself.
func (f *fakeS3) copySource(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	src, err := url.PathUnescape(r.Header.Get("X-Amz-Copy-Source"))
	_, srcKey, _ := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	b, ok := f.objects[srcKey]
	if err != nil || !ok {
		s3Error(w, http.StatusNotFound, "NoSuchKey")
		return nil, false
	}
	if m := r.Header.Get("X-Amz-Copy-Source-If-Match"); m != "" && m != fakeETag(b) {
		s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
		return nil, false
	}
	if rng := r.Header.Get("X-Amz-Copy-Source-Range"); rng != "" {
		lo, hi, ok := fakeRange(rng, len(b))
		if !ok {
			s3Error(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
			return nil, false
		}
		b = b[lo:hi]
	}
	return bytes.Clone(b), true
}

// preconditions reports whether r's If-None-Match / If-Match allow writing key.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
func (f *fakeS3) preconditions(r *http.Request, key string) bool {
	if !f.conditional {
		return true
	}
	b, ok := f.objects[key]
	if r.Header.Get("If-None-Match") == "*" && ok {
		return false
	}
	if m := r.Header.Get("If-Match"); m != "" && (!ok || m != fakeETag(b)) {
		return false
	}
	return true
}

func (f *fakeS3) store(key string, b []byte) {
	f.objects[key] = b
	if f.modified == nil {
		f.modified = map[string]time.Time{}
	}
	f.modified[key] = time.Now()
}

// listV2 answers ListObjectsV2: keys in order, after the continuation token
// (the last key of the previous page), folded into common prefixes at the
// delimiter.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
func (f *fakeS3) listV2(w http.ResponseWriter, q url.Values) {
	type content struct {
		Key          string
		Size         int64
		ETag         string
		LastModified string
	}
	type commonPrefix struct{ Prefix string }
	type result struct {
		XMLName               xml.Name `xml:"ListBucketResult"`
		Prefix                string
		KeyCount              int
		IsTruncated           bool
		NextContinuationToken string         `xml:",omitempty"`
		Contents              []content      `xml:"Contents"`
		CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	after := max(q.Get("continuation-token"), q.Get("start-after"))
	page := f.pageSize
	if page <= 0 {
		page = 1000
	}
	keys := make([]string, 0, len(f.objects))
	for k := range f.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res := result{Prefix: prefix}
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || k <= after || delim != "" && strings.HasSuffix(after, delim) && strings.HasPrefix(k, after) {
			continue // a page ending in a common prefix resumes after all of it
		}
		if res.KeyCount == page {
			res.IsTruncated = true
			break
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if !seen[cp] {
					seen[cp] = true
					res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{cp})
					res.KeyCount++
					res.NextContinuationToken = cp
				}
				continue
			}
		}
		res.Contents = append(res.Contents, content{Key: k, Size: int64(len(f.objects[k])), ETag: fakeETag(f.objects[k]), LastModified: f.modified[k].UTC().Format(time.RFC3339Nano)})
		res.KeyCount++
		res.NextContinuationToken = k
	}
	if !res.IsTruncated {
		res.NextContinuationToken = ""
	}
	w.Header().Set("Content-Type", "application/xml")
	xml.NewEncoder(w).Encode(res)
}

// multipartOp answers CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload and AbortMultipartUpload.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
func (f *fakeS3) multipartOp(w http.ResponseWriter, r *http.Request, key string, q url.Values) {
	if f.multipart == nil {
		f.multipart = map[string]*fakeMultipart{}
	}
	id := q.Get("uploadId")
	if id == "" && r.Method == http.MethodPost {
		f.nextID++
		id = strconv.Itoa(f.nextID)
		f.multipart[id] = &fakeMultipart{key: key, parts: map[int][]byte{}}
		fmt.Fprintf(w, `<InitiateMultipartUploadResult><Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>`, key, id)
		return
	}
	m, ok := f.multipart[id]
	if !ok || m.key != key {
		s3Error(w, http.StatusNotFound, "NoSuchUpload")
		return
	}
	switch r.Method {
	case http.MethodPut:
		n, err := strconv.Atoi(q.Get("partNumber"))
		if err != nil {
			s3Error(w, http.StatusBadRequest, "InvalidArgument")
			return
		}
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			src, ok := f.copySource(w, r)
			if !ok {
				return
			}
			m.parts[n] = src
			fmt.Fprintf(w, `<CopyPartResult><ETag>%s</ETag></CopyPartResult>`, fakeETag(src))
			return
		}
		body, _ := io.ReadAll(r.Body)
		m.parts[n] = body
		w.Header().Set("ETag", fakeETag(body))
	case http.MethodDelete:
		delete(f.multipart, id)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		var req struct {
			Parts []struct{ PartNumber int } `xml:"Part"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
			s3Error(w, http.StatusBadRequest, "MalformedXML")
			return
		}
		if !f.preconditions(r, key) {
			s3Error(w, http.StatusPreconditionFailed, "PreconditionFailed")
			return
		}
		var whole []byte
		for _, p := range req.Parts {
			b, ok := m.parts[p.PartNumber]
			if !ok {
				s3Error(w, http.StatusBadRequest, "InvalidPart")
				return
			}
			whole = append(whole, b...)
		}
		delete(f.multipart, id)
		f.store(key, whole)
		fmt.Fprintf(w, `<CompleteMultipartUploadResult><Key>%s</Key><ETag>%s</ETag></CompleteMultipartUploadResult>`, key, fakeETag(whole))
	}
}

// keys returns the stored keys with prefix, sorted.
func (f *fakeS3) keys(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// age sets the LastModified of every key with prefix to d ago.
func (f *fakeS3) age(prefix string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			f.modified[k] = time.Now().Add(-d)
		}
	}
}

func (f *fakeS3) takeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log
	f.log = nil
	return l
}

func newFake(t *testing.T, conditional bool) (*fakeS3, *Store) {
	t.Helper()
	f := &fakeS3{conditional: conditional, objects: map[string][]byte{}, modified: map[string]time.Time{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := New(context.Background(), Options{Endpoint: srv.URL, Bucket: "b", Repository: "r", AccessKey: "k", SecretKey: "s", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return f, s
}

// TestOpenRangedLazily checks the reader's request pattern: Open is one HEAD,
// Seek costs nothing, a Read opens one ranged GET that later Reads keep
// streaming, and only a Seek elsewhere starts another.
func TestOpenRangedLazily(t *testing.T) {
	f, s := newFake(t, true)
	content := []byte("0123456789")
	d := digest.FromBytes(content)
	key := s.keys.blob(d)
	f.objects[key] = content
	ctx := context.Background()

	rc, size, err := s.Open(ctx, d)
	if err != nil || size != 10 {
		t.Fatalf("Open = %d, %v", size, err)
	}
	defer rc.Close()
	steps := []struct {
		name    string
		do      func() (string, error)
		want    string
		wantLog []string
	}{
		{"open", func() (string, error) { return "", nil }, "", []string{"HEAD " + key}},
		{"seek", func() (string, error) { _, err := rc.Seek(7, io.SeekStart); return "", err }, "", nil},
		{"read", func() (string, error) { b := make([]byte, 2); n, err := rc.Read(b); return string(b[:n]), err }, "78", []string{"GET " + key + " bytes=7-"}},
		{"read on", func() (string, error) { b, err := io.ReadAll(rc); return string(b), err }, "9", nil},
		{"seek back", func() (string, error) { _, err := rc.Seek(-4, io.SeekEnd); return "", err }, "", nil},
		{"read again", func() (string, error) { b, err := io.ReadAll(rc); return string(b), err }, "6789", []string{"GET " + key + " bytes=6-"}},
		{"at end", func() (string, error) { b, err := io.ReadAll(rc); return string(b), err }, "", nil},
	}
	for _, st := range steps {
		got, err := st.do()
		if err != nil || got != st.want {
			t.Fatalf("%s: got %q, %v; want %q", st.name, got, err, st.want)
		}
		if l := f.takeLog(); fmt.Sprint(l) != fmt.Sprint(st.wantLog) {
			t.Fatalf("%s: requests %q, want %q", st.name, l, st.wantLog)
		}
	}
}

func TestProbeConditionalWrites(t *testing.T) {
	for _, tc := range []struct {
		name        string
		conditional bool
		want        error
	}{
		{"honoured", true, nil},
		{"ignored", false, errdef.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newFake(t, tc.conditional)
			err := s.ProbeConditionalWrites(context.Background())
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("probe = %v, want %v", err, tc.want)
			}
			if len(f.objects) != 0 {
				t.Fatalf("probe left %d objects", len(f.objects))
			}
		})
	}
}
