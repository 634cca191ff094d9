//go:build linux

package stevedoreclient_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
)

// TestOpenBlobBig streams a 256 MiB layer to disk through OpenBlob and checks
// the digest and that peak memory (client and in-process server together)
// does not grow with the blob.
func TestOpenBlobBig(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 256 MiB blob")
	}
	f, err := fixture.Write(context.Background(), t.TempDir(), 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	big := f.Layers[1]
	before := maxRSS(t)

	rc, err := dial(t, addr).OpenBlob(context.Background(), f.Ref("@"+big.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "blob"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	d := digest.SHA256.Digester()
	n, err := io.Copy(io.MultiWriter(out, d.Hash()), rc)
	if err != nil {
		t.Fatal(err)
	}
	if n != big.Size || d.Digest() != big.Digest {
		t.Errorf("%d bytes hashing to %s, want %d and %s", n, d.Digest(), big.Size, big.Digest)
	}
	if grown := maxRSS(t) - before; grown > 64<<20 {
		t.Errorf("peak RSS grew by %d MiB while streaming", grown>>20)
	}
}

// maxRSS is the process's peak resident set in bytes (Linux reports it in KiB).
func maxRSS(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Maxrss << 10
}
