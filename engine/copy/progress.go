package copy

import (
	"io"
	"sync"
	"time"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Kind says what a progress Event reports.
type Kind string

// Kinds of progress events. Blob events concern configs and layers; image
// events concern manifests and indexes.
const (
	// KindBlobStarted: a blob the target lacks is about to be transferred.
	KindBlobStarted Kind = "blob-started"
	// KindBlobBytes: Bytes of the blob have been transferred so far.
	KindBlobBytes Kind = "blob-bytes"
	// KindBlobSkipped: the target already holds the blob.
	KindBlobSkipped Kind = "blob-skipped"
	// KindBlobMounted: the target took the blob from another repository
	// of its registry; nothing was transferred.
	KindBlobMounted Kind = "blob-mounted"
	// KindBlobDone: the blob was transferred and verified; Bytes is its size.
	KindBlobDone Kind = "blob-done"
	// KindImageSkipped: the target already holds the manifest, and so
	// everything it references.
	KindImageSkipped Kind = "image-skipped"
	// KindImageDone: the manifest was pushed, after everything it references.
	KindImageDone Kind = "image-done"
)

// Event is one progress report. Events of one copy are delivered one at a
// time (never concurrently), in order for any one blob, but interleaved
// across blobs.
type Event struct {
	Kind Kind `json:"kind"`
	// Desc describes the blob or manifest the event concerns; an index entry
	// carries its platform.
	Desc oci.Descriptor `json:"descriptor"`
	// Bytes is how much of the blob has been transferred (blob-bytes and
	// blob-done only).
	Bytes int64 `json:"bytes,omitempty"`
}

// Byte progress is reported once a blob has moved progressBytes more, or
// progressInterval has passed with some movement: often enough for a
// progress bar, rarely enough to cost nothing next to the transfer.
const (
	progressBytes    = 1 << 20
	progressInterval = 200 * time.Millisecond
)

// reporter serialises events so that Options.Progress need not be safe for
// concurrent use.
type reporter struct {
	mu sync.Mutex
	fn func(Event)
}

func (r *reporter) emit(e Event) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn(e)
}

// sourceReader counts what passes from the source to the target, reports it,
// and remembers the error the source returned, if any: the target sees that
// error only as a failed upload, and this is how a copy tells which side
// failed.
type sourceReader struct {
	r    io.Reader
	rep  *reporter
	desc oci.Descriptor
	n    int64
	last int64     // n at the last report
	at   time.Time // time of the last report
	err  error     // first error from r other than io.EOF
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	if s.rep.fn != nil && s.n > s.last {
		if now := time.Now(); s.n-s.last >= progressBytes || now.Sub(s.at) >= progressInterval {
			s.last, s.at = s.n, now
			s.rep.emit(Event{Kind: KindBlobBytes, Desc: s.desc, Bytes: s.n})
		}
	}
	return n, err
}
