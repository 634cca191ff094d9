package s3

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strings"
)

// An upload session's bytes are hashed once, as they stream into their chunk
// objects, and never read back to be hashed at the commit. The writer of the
// chunk ending at offset E saves the sha256 state after the session's first E
// bytes as uploads/<id>/hash/<E>; the writer of the next chunk starts from it,
// and the commit takes the digest from the last one. The state lives in the
// bucket, so the chunks and the commit may reach different replicas.
//
// Chain ties a state to the exact chunk objects it was computed from: it is
// the sha256 of the previous record's Chain and the new chunk's ETag, so the
// commit recomputes it from the ETags its listing shows and uses the state
// only when they agree, then copies those chunks on the condition that their
// ETags are still these (CopySourceIfMatch). A record that is missing (its
// writer died between the chunk and the record) or disagrees costs a read of
// the chunks through the hash at the commit, nothing worse.

// hashRecord is uploads/<id>/hash/<end>.
type hashRecord struct {
	SHA256 []byte `json:"sha256"` // the marshalled sha256 state (encoding.BinaryMarshaler)
	Chain  string `json:"chain"`
}

// chainNext extends chain by the chunk whose ETag is etag. ETags are
// compared without their quotes, which servers are inconsistent about.
func chainNext(chain, etag string) string {
	sum := sha256.Sum256([]byte(chain + "\n" + strings.Trim(etag, `"`)))
	return hex.EncodeToString(sum[:])
}

// chainOf is the chain of the chunks run.
func chainOf(run []chunk) string {
	chain := ""
	for _, c := range run {
		chain = chainNext(chain, c.etag)
	}
	return chain
}

// hashAt returns the sha256 state after the chunks run (whose end is
// offset), or nil when there is none to trust: no record, a record of other
// chunks, or one that does not decode. A session at offset 0 needs none.
func (r *Root) hashAt(ctx context.Context, id string, offset int64, run []chunk, hashes map[int64]bool) hash.Hash {
	h := sha256.New()
	if offset == 0 {
		return h
	}
	if !hashes[offset] {
		return nil
	}
	b, _, err := r.s.getRecord(ctx, r.s.keys.hash(id, offset))
	if err != nil {
		return nil
	}
	var rec hashRecord
	if json.Unmarshal(b, &rec) != nil || rec.Chain != chainOf(run) {
		return nil
	}
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(rec.SHA256) != nil {
		return nil
	}
	return h
}

// saveHash records h as the state after the chunks run, which end at end.
// Failing to is no error: the commit then reads the chunks back instead.
func (r *Root) saveHash(ctx context.Context, id string, end int64, run []chunk, h hash.Hash) {
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return
	}
	b, _ := json.Marshal(hashRecord{SHA256: state, Chain: chainOf(run)})
	_, _ = r.s.putRecord(ctx, r.s.keys.hash(id, end), b, true, "")
}
