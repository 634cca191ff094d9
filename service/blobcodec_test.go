package service

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// TestEncodeChunk: what blobCodec sends decodes as the GetBlobResponse it
// stands for.
func TestEncodeChunk(t *testing.T) {
	for _, c := range []struct {
		offset, size int64
		first        bool
		data         []byte
	}{
		{0, 5, true, []byte("hello")},
		{1 << 40, 1<<40 + 3, false, []byte("abc")},
		{0, -1, true, []byte("x")},
		{7, 7, true, nil},
		{0, 0, true, nil},
	} {
		var buf mem.Buffer
		if c.data != nil {
			buf = mem.Copy(c.data, mem.DefaultBufferPool())
		}
		ch := encodeChunk(c.offset, buf, c.size, c.first)
		wire := ch.bufs.Materialize()
		if len(wire) != ch.Len() {
			t.Errorf("Len %d, encoded %d", ch.Len(), len(wire))
		}
		ch.bufs.Free()
		var got stevedorev1.GetBlobResponse
		if err := proto.Unmarshal(wire, &got); err != nil {
			t.Fatal(err)
		}
		wantSize := int64(0)
		if c.first {
			wantSize = c.size
		}
		if got.GetOffset() != c.offset || got.GetSize() != wantSize || !bytes.Equal(got.GetData(), c.data) {
			t.Errorf("%+v decodes as %v", c, &got)
		}
	}
}
