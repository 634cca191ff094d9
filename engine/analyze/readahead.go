package analyze

import "io"

// Read-ahead of a compressed layer: readAheadChunks pieces of
// readAheadChunk bytes may wait for the decompressor.
const (
	readAheadChunks = 4
	readAheadChunk  = 1 << 20
)

// readAhead reads a layer's verified stream on its own goroutine, a few
// chunks ahead of the decompressor: the socket or file reads and the
// digest's sha256 take one core while decompressing and writing the tar
// take another. The goroutine lives between newReadAhead and Close.
type readAhead struct {
	rc   io.ReadCloser
	full chan []byte // chunks read, in order; closed after err is set
	free chan []byte // chunks the consumer is done with
	err  error       // what ended the stream (io.EOF when it ended well)
	cur  []byte      // the unread rest of the chunk being consumed
	buf  []byte      // that chunk whole, to give back
	stop chan struct{}
	done chan struct{} // closed when the goroutine has returned
}

func newReadAhead(rc io.ReadCloser) *readAhead {
	ra := &readAhead{
		rc:   rc,
		full: make(chan []byte, readAheadChunks),
		free: make(chan []byte, readAheadChunks),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range readAheadChunks {
		ra.free <- make([]byte, readAheadChunk)
	}
	go ra.fill()
	return ra
}

// fill reads chunks until the stream ends or Close stops it. There are
// only readAheadChunks buffers, so sending on full never blocks.
func (ra *readAhead) fill() {
	defer close(ra.done)
	defer close(ra.full)
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(ra.rc, b)
		if n > 0 {
			ra.full <- b[:n]
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			ra.err = err
			return
		}
	}
}

// Read returns the bytes read ahead, then the error that ended the stream.
func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		b, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.cur, ra.buf = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine, waiting for a read it is in, and closes the
// stream.
func (ra *readAhead) Close() error {
	close(ra.stop)
	<-ra.done
	return ra.rc.Close()
}
