package analyze

import (
	"context"
	"io"
	"os"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// spoolRemote prepares src for an analysis that reads its layers twice
// (Export). A registry is wrapped so that each blob crosses the network
// once: the first Fetch tees the bytes into a file of a private temporary
// directory as they stream, and a later Fetch of a blob whose first read
// reached its verified end reads that file instead. Local sources (layouts,
// archives, stores) are returned as they are, since a second read costs
// them no download. The returned cleanup removes the directory and
// everything in it; the caller defers it, so no exit path leaves files.
//
// The disk used is the compressed size of the layers read; memory stays
// flat, as the bytes are only copied through.
func spoolRemote(src transport.Source) (transport.Source, func(), error) {
	if _, remote := src.(*registry.Repository); !remote {
		return src, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "stevedore-spool-")
	if err != nil {
		return nil, nil, err
	}
	s := &spoolSource{Source: src, dir: dir, done: map[digest.Digest]string{}}
	return s, func() { os.RemoveAll(dir) }, nil
}

// spoolSource is a Source whose blobs, once read whole, are read again from
// local copies. Analyses are sequential, so it needs no lock.
type spoolSource struct {
	transport.Source
	dir  string
	done map[digest.Digest]string // blob → its complete, verified copy
}

// Fetch reads desc from the local copy when there is one, verifying it
// again (as the Source contract promises, and cheaply next to
// decompression), and otherwise from the wrapped source, teeing into a new
// copy.
func (s *spoolSource) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	if p, ok := s.done[desc.Digest]; ok {
		f, err := os.Open(p)
		if err == nil {
			return readCloser{Reader: oci.NewVerifyReader(f, desc.Digest, desc.Size), Closer: f}, nil
		}
		delete(s.done, desc.Digest) // vanished: fetch it again
	}
	rc, err := s.Source.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.dir, "blob-")
	if err != nil {
		// No copy, no harm: the second pass downloads again.
		return rc, nil
	}
	return &teeCopy{s: s, d: desc.Digest, rc: rc, f: f}, nil
}

// teeCopy copies a verified stream into f as it is read; the copy is kept
// only when the stream reached its end, which the source's verifying
// reader reports only once digest and size matched.
type teeCopy struct {
	s  *spoolSource
	d  digest.Digest
	rc io.ReadCloser
	f  *os.File // nil once kept or dropped
}

func (t *teeCopy) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if t.f != nil && n > 0 {
		if _, werr := t.f.Write(p[:n]); werr != nil {
			t.drop() // a full disk costs a second download, not the export
		}
	}
	if err == io.EOF && t.f != nil {
		name := t.f.Name()
		if cerr := t.f.Close(); cerr == nil {
			t.s.done[t.d] = name
		} else {
			os.Remove(name)
		}
		t.f = nil
	}
	return n, err
}

// drop discards a copy that cannot be completed.
func (t *teeCopy) drop() {
	if t.f != nil {
		t.f.Close()
		os.Remove(t.f.Name())
		t.f = nil
	}
}

// Close closes the source stream; a copy the reader stopped short of the
// end is removed.
func (t *teeCopy) Close() error {
	t.drop()
	return t.rc.Close()
}

// readCloser joins a reader with the closer of what it reads.
type readCloser struct {
	io.Reader
	io.Closer
}
