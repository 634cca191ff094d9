package stevedoreclient

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"

	// Registers the "proto" codec blobCodec wraps.
	_ "google.golang.org/grpc/encoding/proto"
)

// blobCodec is the proto codec with one shortcut on receipt: a
// GetBlobResponse is decoded with its data pointing into the message's own
// bytes instead of being copied out of them a second time. Blob streams are
// almost all data, so this is most of a download's client CPU.
type blobCodec struct {
	encoding.CodecV2
	// into, when set, is the buffer each message's bytes are decoded into,
	// reused from one message to the next: for a caller done with a chunk's
	// data before it receives the next. Otherwise each message gets a
	// fresh slice, which costs an allocation and its clearing per chunk.
	into *[]byte
}

// withBlobCodec is the call option that installs blobCodec.
func withBlobCodec() grpc.CallOption {
	return grpc.ForceCodecV2(blobCodec{CodecV2: encoding.GetCodecV2("proto")})
}

// BlobChunksInto is a call option for a raw Images.GetBlob stream whose
// reader is done with each chunk's Data before it receives the next: every
// chunk is decoded into *buf, reused, instead of a fresh slice per chunk
// (an allocation and its clearing per MiB, most of a raw reader's CPU).
// OpenBlob reads this way.
func BlobChunksInto(buf *[]byte) grpc.CallOption {
	return grpc.ForceCodecV2(blobCodec{CodecV2: encoding.GetCodecV2("proto"), into: buf})
}

// Unmarshal decodes data into v.
//
// Protocol Buffers encoding: https://protobuf.dev/programming-guides/encoding/
func (c blobCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*stevedorev1.GetBlobResponse)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	var b []byte
	if c.into != nil {
		n := data.Len()
		if cap(*c.into) < n {
			*c.into = make([]byte, n)
		}
		b = (*c.into)[:n]
		data.CopyTo(b)
	} else {
		b = data.Materialize() // a fresh slice the message may keep
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("GetBlobResponse: %w", protowire.ParseError(n))
		}
		if !num.IsValid() {
			return fmt.Errorf("GetBlobResponse: field number %d is out of range", num)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("GetBlobResponse.offset: %w", protowire.ParseError(n))
			}
			m.Offset, b = int64(x), b[n:]
		case num == 3 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("GetBlobResponse.size: %w", protowire.ParseError(n))
			}
			m.Size, b = int64(x), b[n:]
		case num == 2 && typ == protowire.BytesType:
			x, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("GetBlobResponse.data: %w", protowire.ParseError(n))
			}
			m.Data, b = x, b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("GetBlobResponse: %w", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}
