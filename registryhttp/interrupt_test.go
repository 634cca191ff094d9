package registryhttp_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/registryhttp"
)

// cutReader yields b in small reads, then fails as a connection closed
// mid-body does. withLast returns the last bytes and the error from one Read,
// as io.Reader allows.
type cutReader struct {
	b        []byte
	withLast bool
}

func (c *cutReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p[:min(len(p), 700)], c.b)
	c.b = c.b[n:]
	if c.withLast && len(c.b) == 0 {
		return n, io.ErrUnexpectedEOF
	}
	return n, nil
}

// A PATCH or closing PUT whose body breaks off keeps what arrived: the status
// reports it, a PATCH from there continues, and the PUT gets the digest of
// the whole blob. The cut request runs through a second handler on the same
// data directory, called directly so that exactly the bytes read before the
// failure are known.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func TestUploadInterruptedKeepsBytes(t *testing.T) {
	blob := make([]byte, 10000)
	rng := rand.NewChaCha8([32]byte{7})
	_, _ = rng.Read(blob)
	d := digest.FromBytes(blob)
	tests := []struct {
		name     string
		acked    int64 // sent in a whole PATCH first
		cut      int64 // where the body breaks (absolute offset)
		method   string
		ranged   bool // the cut request carries Content-Range/Length for the rest
		withLast bool
	}{
		{name: "streamed PATCH", cut: 3000, method: http.MethodPatch},
		{name: "ranged PATCH after a chunk", acked: 1000, cut: 3500, method: http.MethodPatch, ranged: true},
		{name: "error with the last bytes", acked: 1000, cut: 6001, method: http.MethodPatch, withLast: true},
		{name: "closing PUT", acked: 2000, cut: 7000, method: http.MethodPut, ranged: true},
		{name: "nothing arrived", acked: 1000, cut: 1000, method: http.MethodPatch},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			other, err := registryhttp.New(s.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			repo := "cut/repo" + strconv.Itoa(i)
			loc := s.mustStatus(s.do("POST", "/v2/"+repo+"/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")
			if tt.acked > 0 {
				s.mustStatus(s.do("PATCH", loc, blob[:tt.acked], "Content-Range", fmt.Sprintf("%d-%d", 0, tt.acked-1)), http.StatusAccepted)
			}

			target := loc
			if tt.method == http.MethodPut {
				target += "?digest=" + d.String()
			}
			req := httptest.NewRequest(tt.method, target, &cutReader{b: blob[tt.acked:tt.cut], withLast: tt.withLast})
			req.ContentLength = -1
			if tt.ranged {
				req.ContentLength = int64(len(blob)) - tt.acked
				req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", tt.acked, len(blob)-1))
			}
			rec := httptest.NewRecorder()
			other.ServeHTTP(rec, req)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "BLOB_UPLOAD_INVALID") {
				t.Fatalf("cut %s: %d %s, want 400 BLOB_UPLOAD_INVALID", tt.method, rec.Code, rec.Body)
			}

			st := s.mustStatus(s.do("GET", loc, nil), http.StatusNoContent)
			want := "0-" + strconv.FormatInt(max(tt.cut-1, 0), 10)
			if got := st.header.Get("Range"); got != want {
				t.Fatalf("status Range %q after the cut, want %q", got, want)
			}
			if got := rec.Header().Get("Range"); got != want {
				t.Errorf("the cut request's answer has Range %q, want %q", got, want)
			}

			s.mustStatus(s.do("PATCH", loc, blob[tt.cut:], "Content-Range", fmt.Sprintf("%d-%d", tt.cut, len(blob)-1)), http.StatusAccepted)
			s.mustStatus(s.do("PUT", loc+"?digest="+d.String(), nil), http.StatusCreated)
			got := s.mustStatus(s.do("GET", "/v2/"+repo+"/blobs/"+d.String(), nil), http.StatusOK)
			if !bytes.Equal(got.body, blob) {
				t.Fatalf("blob after resume differs (%d bytes, want %d)", len(got.body), len(blob))
			}
		})
	}
}

// A single POST (digest in the query) whose body breaks off leaves no
// session and no blob: the client never learnt a session to resume.
func TestMonolithicPostInterrupted(t *testing.T) {
	s := newServer(t, "")
	reg, err := registryhttp.New(s.data, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob := bytes.Repeat([]byte("x"), 5000)
	d := digest.FromBytes(blob)
	req := httptest.NewRequest(http.MethodPost, "/v2/cut/post/blobs/uploads/?digest="+d.String(), &cutReader{b: blob[:2000]})
	req.ContentLength = int64(len(blob))
	rec := httptest.NewRecorder()
	reg.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("cut POST: %d %s, want 400", rec.Code, rec.Body)
	}
	if loc := rec.Header().Get("Location"); loc != "" {
		t.Errorf("cut POST names session %q, which was dropped", loc)
	}
	n, err := reg.Backend().CountUploads(t.Context())
	if err != nil || n != 0 {
		t.Errorf("%d sessions left (%v), want 0", n, err)
	}
	s.mustStatus(s.do("HEAD", "/v2/cut/post/blobs/"+d.String(), nil), http.StatusNotFound)
}
