package s3

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// fakeS3 is just enough of S3 (HeadBucket, HEAD/GET/PUT object, path style)
// to test request patterns without a server; conditions are honoured only
// when conditional is set, so it can also play a server that ignores them.
type fakeS3 struct {
	conditional bool
	mu          sync.Mutex
	objects     map[string][]byte
	log         []string // "METHOD key [range]"
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if key == "" { // HeadBucket
		return
	}
	f.log = append(f.log, strings.TrimSpace(r.Method+" "+key+" "+r.Header.Get("Range")))
	b, ok := f.objects[key]
	etag := func(b []byte) string { s := md5.Sum(b); return `"` + hex.EncodeToString(s[:]) + `"` }
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			if r.Method == http.MethodGet {
				fmt.Fprint(w, `<Error><Code>NoSuchKey</Code></Error>`)
			}
			return
		}
		w.Header().Set("ETag", etag(b))
		if rng, found := strings.CutPrefix(r.Header.Get("Range"), "bytes="); found {
			off, _ := strconv.Atoi(strings.TrimSuffix(rng, "-"))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, len(b)-1, len(b)))
			w.Header().Set("Content-Length", strconv.Itoa(len(b)-off))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(b[off:])
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == http.MethodGet {
			w.Write(b)
		}
	case http.MethodPut:
		if f.conditional && (r.Header.Get("If-None-Match") == "*" && ok || r.Header.Get("If-Match") != "" && (!ok || r.Header.Get("If-Match") != etag(b))) {
			w.WriteHeader(http.StatusPreconditionFailed)
			fmt.Fprint(w, `<Error><Code>PreconditionFailed</Code></Error>`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.objects[key] = body
		w.Header().Set("ETag", etag(body))
	case http.MethodDelete:
		delete(f.objects, key)
		w.WriteHeader(http.StatusNoContent)
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
	f := &fakeS3{conditional: conditional, objects: map[string][]byte{}}
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
