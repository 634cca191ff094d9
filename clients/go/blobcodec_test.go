package stevedoreclient

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// FuzzBlobCodec: the shortcut decodes whatever the proto codec decodes, to
// the same message, and refuses what it refuses.
func FuzzBlobCodec(f *testing.F) {
	for _, m := range []*stevedorev1.GetBlobResponse{
		{}, {Offset: 1 << 40, Data: []byte("data")}, {Size: -1}, {Data: bytes.Repeat([]byte{7}, 1000), Size: 1000},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte{0x12, 0xff})
	f.Add([]byte{0x22, 0x01, 0x00, 0x08, 0x05}) // an unknown field first
	var buf []byte
	codecs := []blobCodec{
		{CodecV2: encoding.GetCodecV2("proto")},
		{CodecV2: encoding.GetCodecV2("proto"), into: &buf}, // the reused buffer, as OpenBlob decodes
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want stevedorev1.GetBlobResponse
		werr := proto.Unmarshal(b, &want)
		for _, c := range codecs {
			var got stevedorev1.GetBlobResponse
			gerr := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &got)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%x: proto says %v, blobCodec %v", b, werr, gerr)
			}
			if werr == nil && (want.GetOffset() != got.GetOffset() || want.GetSize() != got.GetSize() || !bytes.Equal(want.GetData(), got.GetData())) {
				t.Fatalf("%x: proto %v, blobCodec %v", b, &want, &got)
			}
		}
	})
}
