package oci

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/opencontainers/go-digest"
)

// benchSize is large enough that per-call overhead vanishes and small
// enough to sit in memory next to the other benchmarks.
const benchSize = 64 << 20

// benchContent is random, so the numbers are those of a real layer.
func benchContent(b *testing.B) ([]byte, digest.Digest) {
	b.Helper()
	buf := make([]byte, benchSize)
	rand.NewChaCha8([32]byte{7}).Read(buf)
	return buf, digest.FromBytes(buf)
}

// BenchmarkVerifyReader measures NewVerifyReader as the engine uses it:
// copied through a 1 MiB buffer (the gRPC chunk size) into a sink, digest
// and size checked at EOF. Compare with BenchmarkSHA256 for its overhead.
func BenchmarkVerifyReader(b *testing.B) {
	buf, d := benchContent(b)
	copyBuf := make([]byte, 1<<20)
	// Hiding io.Discard's ReaderFrom keeps io.CopyBuffer on copyBuf rather
	// than the 8 KiB buffers Discard would read with.
	sink := struct{ io.Writer }{io.Discard}
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := io.CopyBuffer(sink, NewVerifyReader(bytes.NewReader(buf), d, benchSize), copyBuf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256 is the floor: hashing the same bytes in the same 1 MiB
// pieces with no reader in between.
func BenchmarkSHA256(b *testing.B) {
	buf, _ := benchContent(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		h := sha256.New()
		for p := buf; len(p) > 0; p = p[min(len(p), 1<<20):] {
			h.Write(p[:min(len(p), 1<<20)])
		}
		h.Sum(nil)
	}
}
