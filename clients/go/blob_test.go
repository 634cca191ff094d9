package stevedoreclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"google.golang.org/grpc"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// readBlob reads the big layer through OpenBlob and returns its digest.
func readBlob(t *testing.T, c *stevedoreclient.Client, ref string) (digest.Digest, int64, error) {
	t.Helper()
	rc, err := c.OpenBlob(context.Background(), ref)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	dg := digest.SHA256.Digester()
	n, err := io.Copy(dg.Hash(), rc)
	return dg.Digest(), n, err
}

func TestOpenBlob(t *testing.T) {
	defer stevedoreclient.SetBackoff(time.Millisecond)()
	big := fx.Layers[1]
	for _, tc := range []struct {
		name    string
		drop    *dropper // nil: a healthy server
		streams int32    // GetBlob calls expected
	}{
		{"healthy", nil, 1},
		{"drops every 2 chunks", &dropper{sends: func(int) int { return 2 }}, 3},
		{"ends early every 2 chunks", &dropper{sends: func(int) int { return 2 }, clean: true}, 3},
		{"one chunk per stream", &dropper{sends: func(int) int { return 1 }}, 6},
		{"fails twice, then works", &dropper{sends: func(i int) int { return []int{1, 0, 0, 100}[min(i, 3)] }}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := addr
			if tc.drop != nil {
				target = startServer(t, grpc.ChainStreamInterceptor(tc.drop.intercept))
			}
			got, n, err := readBlob(t, dial(t, target), fx.Ref("@"+big.Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			if got != big.Digest || n != big.Size {
				t.Errorf("read %d bytes hashing to %s, want %d and %s", n, got, big.Size, big.Digest)
			}
			if tc.drop != nil && tc.drop.streams.Load() != tc.streams {
				t.Errorf("%d GetBlob streams, want %d", tc.drop.streams.Load(), tc.streams)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestOpenBlobGivesUp: a server that keeps failing without progress ends
// the read with ErrUnavailable after the policy's attempts, not forever.
func TestOpenBlobGivesUp(t *testing.T) {
	defer stevedoreclient.SetBackoff(time.Millisecond)()
	d := &dropper{sends: func(i int) int { return btoi(i == 0) }}
	_, _, err := readBlob(t, dial(t, startServer(t, grpc.ChainStreamInterceptor(d.intercept))), fx.Ref("@"+fx.Layers[1].Digest.String()))
	if !errors.Is(err, errdef.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}
	if got, want := int(d.streams.Load()), 1+stevedoreclient.MaxFailures(); got != want {
		t.Errorf("%d streams, want %d", got, want)
	}
}

// TestOpenBlobCorrupt: bytes that do not match the digest never read as a
// clean EOF, whether the server notices (a whole read) or only the client
// does (after a resume, the server reads ranges it cannot verify).
func TestOpenBlobCorrupt(t *testing.T) {
	defer stevedoreclient.SetBackoff(time.Millisecond)()
	f, err := fixture.Write(context.Background(), t.TempDir(), bigSize)
	if err != nil {
		t.Fatal(err)
	}
	big := f.Layers[1]
	path := filepath.Join(f.Dir, "blobs", "sha256", big.Digest.Encoded())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1]++
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"server verifies", nil},
		{"client verifies", []grpc.ServerOption{grpc.ChainStreamInterceptor((&dropper{sends: func(int) int { return 2 }}).intercept)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readBlob(t, dial(t, startServer(t, tc.opts...)), f.Ref("@"+big.Digest.String()))
			if !errors.Is(err, errdef.ErrDigestMismatch) {
				t.Fatalf("error %v, want ErrDigestMismatch", err)
			}
		})
	}
}

func TestOpenBlobBadRef(t *testing.T) {
	c := dial(t, addr)
	for _, ref := range []string{fx.Ref(":v1"), fx.Ref("@sha256:abc")} {
		if _, err := c.OpenBlob(context.Background(), ref); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("OpenBlob(%q): %v, want ErrInvalid", ref, err)
		}
	}
}

func TestOpenBlobCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := dial(t, addr).OpenBlob(ctx, fx.Ref("@"+fx.Layers[1].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cancel()
	_, err = io.Copy(io.Discard, rc)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestOpenBlobSmall(t *testing.T) {
	rc, err := dial(t, addr).OpenBlob(context.Background(), fx.Ref("@"+fx.Layers[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(b, []byte(fixture.SmallLayer)) {
		t.Fatalf("got %q, %v", b, err)
	}
}
