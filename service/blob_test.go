package service

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"google.golang.org/grpc/codes"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// readBlob drains a GetBlob stream, checking the chunk invariants: each at
// most ChunkSize, offsets contiguous from the requested offset, the total size
// in the first chunk only.
func readBlob(t *testing.T, c stevedorev1.ImageServiceClient, req *stevedorev1.GetBlobRequest) (data []byte, size int64, chunks int, err error) {
	t.Helper()
	stream, err := c.GetBlob(context.Background(), req)
	if err != nil {
		return nil, 0, 0, err
	}
	next := req.GetOffset()
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return data, size, chunks, nil
		}
		if err != nil {
			return data, size, chunks, err
		}
		if len(msg.GetData()) > ChunkSize {
			t.Errorf("chunk %d carries %d bytes, over %d", chunks, len(msg.GetData()), ChunkSize)
		}
		if msg.GetOffset() != next {
			t.Errorf("chunk %d at offset %d, want %d", chunks, msg.GetOffset(), next)
		}
		if chunks == 0 {
			size = msg.GetSize()
		} else if msg.GetSize() != 0 {
			t.Errorf("chunk %d repeats the size", chunks)
		}
		next += int64(len(msg.GetData()))
		data = append(data, msg.GetData()...)
		chunks++
	}
}

func TestGetBlob(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	big := f.layers[1]
	bigRef := f.ref("@" + digest.FromBytes(big).String())
	for _, tc := range []struct {
		name           string
		ref            string
		offset, length int64
		want           []byte
		wantChunks     int
	}{
		{"whole small", f.ref("@" + digest.FromBytes(f.layers[0]).String()), 0, 0, f.layers[0], 1},
		{"whole big", bigRef, 0, 0, big, 3},
		{"config", f.ref("@" + digest.FromBytes(f.config).String()), 0, 0, f.config, 1},
		{"range inside a chunk", bigRef, 1000, 5000, big[1000:6000], 1},
		{"range across chunks", bigRef, ChunkSize - 10, ChunkSize + 20, big[ChunkSize-10 : 2*ChunkSize+10], 2},
		{"offset to end", bigRef, 2*ChunkSize + 1, 0, big[2*ChunkSize+1:], 1},
		{"length past end", bigRef, int64(len(big)) - 3, 100, big[len(big)-3:], 1},
		{"offset at end", bigRef, int64(len(big)), 0, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, size, chunks, err := readBlob(t, c, &stevedorev1.GetBlobRequest{Ref: tc.ref, Offset: tc.offset, Length: tc.length})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got %d bytes, want %d (equal prefix: %v)", len(got), len(tc.want), bytes.HasPrefix(tc.want, got))
			}
			if chunks < tc.wantChunks {
				t.Errorf("%d chunks, want at least %d", chunks, tc.wantChunks)
			}
			if tc.ref == bigRef && size != int64(len(big)) {
				t.Errorf("size %d, want %d", size, len(big))
			}
		})
	}
}

func TestGetBlobErrors(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	big := digest.FromBytes(f.layers[1])
	for _, tc := range []struct {
		name           string
		ref            string
		offset, length int64
		code           codes.Code
		reason         string
	}{
		{"no digest", f.ref(":v1"), 0, 0, codes.InvalidArgument, "DIGEST_INVALID"},
		{"malformed digest", f.ref("@sha256:abc"), 0, 0, codes.InvalidArgument, "DIGEST_INVALID"},
		{"unknown blob", f.ref("@" + digest.FromString("missing").String()), 0, 0, codes.NotFound, "BLOB_UNKNOWN"},
		{"negative offset", f.ref("@" + big.String()), -1, 0, codes.InvalidArgument, ""},
		{"negative length", f.ref("@" + big.String()), 0, -1, codes.InvalidArgument, ""},
		{"offset past end", f.ref("@" + big.String()), int64(len(f.layers[1])) + 1, 0, codes.InvalidArgument, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := readBlob(t, c, &stevedorev1.GetBlobRequest{Ref: tc.ref, Offset: tc.offset, Length: tc.length})
			checkStatus(t, err, tc.code, tc.reason)
		})
	}
}

// TestGetBlobCorrupt: a stored blob whose bytes no longer match its digest
// ends a whole read with DataLoss, after the data has streamed.
func TestGetBlobCorrupt(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	d := digest.FromBytes(f.layers[1])
	path := filepath.Join(f.dir, "blobs", d.Algorithm().String(), d.Encoded())
	bad := bytes.Clone(f.layers[1])
	bad[len(bad)-1]++
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := readBlob(t, c, &stevedorev1.GetBlobRequest{Ref: f.ref("@" + d.String())})
	checkStatus(t, err, codes.DataLoss, "DIGEST_INVALID")
}
