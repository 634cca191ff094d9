package service

import (
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	// Registers the "proto" codec blobCodec wraps.
	_ "google.golang.org/grpc/encoding/proto"
)

// A GetBlob stream is almost all blob bytes, and the proto codec would copy
// each chunk into a buffer of its own (zeroed first) before gRPC copies it
// again into its HTTP/2 frames. blobChunk carries a chunk already encoded:
// a few header bytes and the data, read from the store straight into a
// buffer of gRPC's pool, which gRPC frees once the frames are written. The
// bytes on the wire are an ordinary GetBlobResponse.

// blobChunk is a GetBlobResponse encoded as the buffers it is sent as.
type blobChunk struct {
	bufs mem.BufferSlice
	n    int // the encoded size, kept: gRPC frees bufs once written
}

// Len is the encoded size, for the request log's byte count.
func (c *blobChunk) Len() int { return c.n }

// encodeChunk encodes GetBlobResponse{offset, data, size}: size (the first
// chunk only) is written when sizeSet. data is a buffer of pool holding
// exactly the chunk, which the message takes over.
//
// Protocol Buffers encoding (fields may come in any order):
// https://protobuf.dev/programming-guides/encoding/
func encodeChunk(offset int64, data mem.Buffer, size int64, sizeSet bool) *blobChunk {
	h := make([]byte, 0, 32)
	if offset != 0 {
		h = protowire.AppendTag(h, 1, protowire.VarintType)
		h = protowire.AppendVarint(h, uint64(offset))
	}
	if sizeSet && size != 0 {
		h = protowire.AppendTag(h, 3, protowire.VarintType)
		h = protowire.AppendVarint(h, uint64(size))
	}
	if data == nil {
		return &blobChunk{bufs: mem.BufferSlice{mem.SliceBuffer(h)}, n: len(h)}
	}
	if n := data.Len(); n > 0 {
		h = protowire.AppendTag(h, 2, protowire.BytesType)
		h = protowire.AppendVarint(h, uint64(n))
		return &blobChunk{bufs: mem.BufferSlice{mem.SliceBuffer(h), data}, n: len(h) + n}
	}
	data.Free()
	return &blobChunk{bufs: mem.BufferSlice{mem.SliceBuffer(h)}, n: len(h)}
}

// blobCodec is the proto codec, passing blobChunks through as they are.
type blobCodec struct{ encoding.CodecV2 }

// Marshal encodes v, or hands over a blobChunk's buffers.
func (c blobCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(*blobChunk); ok {
		return b.bufs, nil
	}
	return c.CodecV2.Marshal(v)
}

// withBlobCodec is the server option that installs blobCodec.
func withBlobCodec() grpc.ServerOption {
	return grpc.ForceServerCodecV2(blobCodec{encoding.GetCodecV2("proto")})
}

// readChunk reads up to ChunkSize bytes of r into a pooled buffer that
// gRPC sends without copying; at the end of r it returns io.EOF with an
// empty buffer.
func readChunk(r io.Reader) (mem.Buffer, error) {
	b := chunkPool.Get(ChunkSize)
	n, err := io.ReadFull(r, *b)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	*b = (*b)[:n]
	if n == 0 {
		chunkPool.Put(b)
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	return mem.NewBuffer(b, chunkPool), err
}

// chunkPool recycles the buffers of every streaming RPC (blobs, files,
// exports, artifacts), so memory stays flat however many stream at once.
// Unlike gRPC's default pool it does not clear a buffer it hands out (a
// tenth of GetBlob's server CPU per GiB): each user overwrites it and sends
// only what it wrote.
var chunkPool = &rawPool{}

// rawPool is a mem.BufferPool of ChunkSize buffers that keeps their bytes.
type rawPool struct{ p sync.Pool }

// Get returns a buffer of length n, its old contents left in place.
func (rp *rawPool) Get(n int) *[]byte {
	if b, ok := rp.p.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, max(n, ChunkSize))
	return &b
}

// Put takes b back.
func (rp *rawPool) Put(b *[]byte) { rp.p.Put(b) }
