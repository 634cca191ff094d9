package analyze

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

// TestReadAhead: the bytes come through in order whatever the chunking, the
// error that ended the stream comes after them, and Close ends the
// goroutine however much was read.
func TestReadAhead(t *testing.T) {
	defer goleak.VerifyNone(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), (readAheadChunks*readAheadChunk)/8+3) // more than the buffers hold
	boom := errors.New("boom")
	tests := []struct {
		name    string
		src     io.Reader
		read    int // bytes to read before Close; -1: to the end
		want    []byte
		wantErr error
	}{
		{"whole", bytes.NewReader(data), -1, data, nil},
		{"one byte a read", iotest.OneByteReader(bytes.NewReader(data[:3000])), -1, data[:3000], nil},
		{"empty", bytes.NewReader(nil), -1, nil, nil},
		{"error after the bytes", io.MultiReader(bytes.NewReader(data[:5]), iotest.ErrReader(boom)), -1, data[:5], boom},
		{"closed early", bytes.NewReader(data), 10, data[:10], nil},
		{"closed before reading", bytes.NewReader(data), 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closed := false
			ra := newReadAhead(readCloser{tt.src, closerFunc(func() error { closed = true; return nil })})
			var got []byte
			var err error
			if tt.read < 0 {
				got, err = io.ReadAll(ra)
			} else {
				got = make([]byte, tt.read)
				_, err = io.ReadFull(ra, got)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("read %d bytes, want %d (or they differ)", len(got), len(tt.want))
			}
			if err := ra.Close(); err != nil || !closed {
				t.Errorf("Close = %v, stream closed %v", err, closed)
			}
		})
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// readCloser joins a reader with the closer of what it reads.
type readCloser struct {
	io.Reader
	io.Closer
}
