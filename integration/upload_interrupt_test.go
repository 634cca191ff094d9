package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// errConnClosed is what the cut body reports once the test has closed the
// connection under the request.
var errConnClosed = errors.New("test closed the connection")

// connCutter is a body that, after cutAt bytes, closes the connection the
// request goes over: a client that goes away mid-upload.
type connCutter struct {
	r     io.Reader
	cutAt int64
	sent  int64
	conn  *atomic.Pointer[net.Conn]
}

func (c *connCutter) Read(p []byte) (int, error) {
	if c.sent >= c.cutAt {
		if conn := c.conn.Load(); conn != nil {
			(*conn).Close()
		}
		return 0, errConnClosed
	}
	n, err := c.r.Read(p[:min(int64(len(p)), c.cutAt-c.sent)])
	c.sent += int64(n)
	return n, err
}

// TestUploadInterrupt streams a 64 MiB blob in one request, closes the
// connection a third of the way, and resumes from the Range the upload
// status reports: the server kept what arrived, the rest completes the blob
// under the right digest, and nothing is sent twice.
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func TestUploadInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 3 x 64 MiB")
	}
	const size, cutAt = crashBlobSize, 24 << 20
	s, err := startStevedore(t, "stevedore-upload-interrupt", serveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Registry
	client := &http.Client{Timeout: 2 * time.Minute}
	tests := []struct {
		name   string
		method string // of the cut request
		ranged bool   // it declares Content-Range and Content-Length
		finish string // PATCH: the rest then an empty PUT; PUT: a PUT with the rest
	}{
		{"streamed PATCH, PUT with the rest", http.MethodPatch, false, http.MethodPut},
		{"ranged PATCH, PATCH the rest", http.MethodPatch, true, http.MethodPatch},
		{"closing PUT, PUT with the rest", http.MethodPut, true, http.MethodPut},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := 100 + i
			repo := fmt.Sprintf("interrupt/app%d", i)
			h := sha256.New()
			if _, err := io.Copy(h, crashContent(seed, 0)); err != nil {
				t.Fatal(err)
			}
			dgst := "sha256:" + hex.EncodeToString(h.Sum(nil))

			resp, err := client.Post(base+"/v2/"+repo+"/blobs/uploads/", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("POST upload: %s", resp.Status)
			}
			loc := base + resp.Header.Get("Location")

			// One connection for the cut request, which the body closes.
			var conn atomic.Pointer[net.Conn]
			cutClient := &http.Client{Transport: &http.Transport{
				DisableKeepAlives: true,
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
					if err == nil {
						conn.Store(&c)
					}
					return c, err
				},
			}}
			body := &connCutter{r: crashContent(seed, 0), cutAt: cutAt, conn: &conn}
			url := loc
			if tt.method == http.MethodPut {
				url += "?digest=" + dgst
			}
			req, err := http.NewRequest(tt.method, url, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/octet-stream")
			if tt.ranged {
				req.ContentLength = size
				req.Header.Set("Content-Range", fmt.Sprintf("0-%d", size-1))
			}
			if resp, err := cutClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("the cut %s was answered %s", tt.method, resp.Status)
			}

			// The server saves the session once it sees the body end; until
			// then the status still says 0.
			var offset int64
			for deadline := time.Now().Add(30 * time.Second); offset == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				var status int
				if offset, status, err = uploadOffset(client, loc, 0); err != nil || status != http.StatusNoContent {
					t.Fatalf("upload status after the cut: %d %v", status, err)
				}
			}
			t.Logf("cut after %d MiB sent; the session holds %d bytes", body.sent>>20, offset)
			if offset < 16<<20 || offset > body.sent {
				t.Fatalf("session resumes at %d after %d bytes sent: the received bytes were not kept", offset, body.sent)
			}

			rest := size - offset
			put := func(body io.Reader, n int64) {
				t.Helper()
				req, err := http.NewRequest(http.MethodPut, loc+"?digest="+dgst, body)
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = n
				if n > 0 {
					req.Header.Set("Content-Type", "application/octet-stream")
					req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", offset, size-1))
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("closing PUT: %s", resp.Status)
				}
			}
			switch tt.finish {
			case http.MethodPatch:
				req, err := http.NewRequest(http.MethodPatch, loc, crashContent(seed, offset))
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = rest
				req.Header.Set("Content-Type", "application/octet-stream")
				req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", offset, size-1))
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					t.Fatalf("PATCH the rest: %s", resp.Status)
				}
				put(nil, 0)
			case http.MethodPut:
				put(crashContent(seed, offset), rest)
			}

			resp, err = client.Get(base + "/v2/" + repo + "/blobs/" + dgst)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET blob: %s", resp.Status)
			}
			h.Reset()
			if _, err := io.Copy(h, resp.Body); err != nil {
				t.Fatal(err)
			}
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != dgst {
				t.Fatalf("served blob hashes to %s, want %s", got, dgst)
			}
		})
	}
}
