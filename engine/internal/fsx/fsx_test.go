package fsx

import "testing"

// TestIngestBufSizes checks that at most ingestBigBufs copies hold a 1 MiB
// buffer at once, and that a returned one is lent again.
func TestIngestBufSizes(t *testing.T) {
	var puts []func()
	for i := range ingestBigBufs + 3 {
		b, put := ingestBuf()
		want := ingestBufSize
		if i >= ingestBigBufs {
			want = ingestSmallBufSize
		}
		if len(b) != want {
			t.Fatalf("buffer %d: %d bytes, want %d", i, len(b), want)
		}
		puts = append(puts, put)
	}
	puts[0]()
	if b, put := ingestBuf(); len(b) != ingestBufSize {
		t.Errorf("after one big buffer came back: %d bytes, want %d", len(b), ingestBufSize)
	} else {
		put()
	}
	for _, put := range puts[1:] {
		put()
	}
	if n := bigOut.Load(); n != 0 {
		t.Errorf("%d big buffers still counted out", n)
	}
}
