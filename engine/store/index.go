package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/internal/fsx"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// maxIndexSize bounds index.json reads. It is larger than the manifest limit
// because a layout's index grows with every tag.
const maxIndexSize = 64 << 20

// index is index.json as read from disk. Every top-level member and every
// manifests entry is kept as the raw JSON it was, so a read-modify-write keeps
// fields stevedore does not know (a newer spec's, another tool's) untouched;
// desc is the decoded view used for lookups.
type index struct {
	fields  map[string]json.RawMessage
	entries []entry
}

type entry struct {
	raw  json.RawMessage
	desc oci.Descriptor
}

// tag returns the entry's ref.name annotation, "" for an untagged root.
func (e entry) tag() string { return e.desc.Annotations[refNameAnno] }

// owned returns the entry's descriptor for a caller to keep: its maps and
// slices are copies, since the entry may be shared (readIndexView).
func (e entry) owned() oci.Descriptor {
	d := e.desc
	d.Annotations = maps.Clone(d.Annotations)
	d.URLs = slices.Clone(d.URLs)
	if d.Platform != nil {
		p := *d.Platform
		p.OSFeatures = slices.Clone(p.OSFeatures)
		d.Platform = &p
	}
	d.Data = slices.Clone(d.Data)
	return d
}

func newIndex() *index {
	return &index{fields: map[string]json.RawMessage{
		"schemaVersion": json.RawMessage(`2`),
		"mediaType":     json.RawMessage(`"` + oci.MediaTypeImageIndex + `"`),
	}}
}

// readIndex decodes the layout's index.json, which must exist.
//
// image-spec v1.1.1 §index.json file: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func (f *FS) readIndex() (*index, error) {
	b, err := fsx.ReadLimited(f.root.Open, indexFile, maxIndexSize)
	if errIsNotExist(err) {
		return nil, fmt.Errorf("%s has no %s, so is not an OCI layout: %w", f.dir, indexFile, errdef.ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	bad := func(why string, err error) (*index, error) {
		return nil, fmt.Errorf("%s in %s: %s: %v: %w", indexFile, f.dir, why, err, errdef.ErrInvalid)
	}
	idx := &index{}
	if err := json.Unmarshal(b, &idx.fields); err != nil {
		return bad("not a JSON object", err)
	}
	if idx.fields == nil {
		return bad("not a JSON object", fmt.Errorf("null"))
	}
	var sv int
	if err := json.Unmarshal(idx.fields["schemaVersion"], &sv); err != nil || sv != 2 {
		return bad("schemaVersion must be 2", err)
	}
	var raws []json.RawMessage
	if m, ok := idx.fields["manifests"]; ok {
		if err := json.Unmarshal(m, &raws); err != nil {
			return bad("manifests is not an array", err)
		}
	}
	for i, raw := range raws {
		e := entry{raw: raw}
		if err := json.Unmarshal(raw, &e.desc); err != nil {
			return bad(fmt.Sprintf("manifests[%d] is not a descriptor", i), err)
		}
		idx.entries = append(idx.entries, e)
	}
	return idx, nil
}

// indexView is a parsed index.json and the file it was read from.
type indexView struct {
	fi  os.FileInfo
	idx *index
}

// readIndexView is readIndex for callers that only read the result (never
// modify it): the copy parsed last time is reused while a stat says
// index.json is the same file with the same size and modification time.
// Every writer replaces index.json whole (a new file renamed over it), so
// any change, by this process or another, is a new file; the stat is taken
// before the read, so a change racing with it is seen on the next call. The
// directory stays the truth, at the cost of a stat instead of a read and a
// parse on the hottest path (a manifest GET by tag).
func (f *FS) readIndexView() (*index, error) {
	fi, statErr := f.root.Stat(indexFile)
	if v := f.view.Load(); v != nil && statErr == nil &&
		os.SameFile(v.fi, fi) && v.fi.Size() == fi.Size() && v.fi.ModTime().Equal(fi.ModTime()) {
		return v.idx, nil
	}
	idx, err := f.readIndex()
	if err != nil {
		return nil, err
	}
	if statErr == nil {
		f.view.Store(&indexView{fi: fi, idx: idx})
	}
	return idx, nil
}

// writeIndex replaces index.json atomically. Callers hold the lock.
func (f *FS) writeIndex(idx *index) error {
	defer f.view.Store(nil)
	raws := make([]json.RawMessage, 0, len(idx.entries))
	for _, e := range idx.entries {
		raws = append(raws, e.raw)
	}
	m, err := json.Marshal(raws)
	if err != nil {
		return err
	}
	// Written by hand rather than by marshalling the map so the members the
	// spec defines come first, as other tools write them; the rest follow in
	// lexical order.
	var buf bytes.Buffer
	buf.WriteByte('{')
	member := func(k string, v json.RawMessage) {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(v)
	}
	first := []string{"schemaVersion", "mediaType"}
	for _, k := range first {
		if v, ok := idx.fields[k]; ok {
			member(k, v)
		}
	}
	member("manifests", m)
	for _, k := range slices.Sorted(maps.Keys(idx.fields)) {
		if k != "manifests" && !slices.Contains(first, k) {
			member(k, idx.fields[k])
		}
	}
	buf.WriteByte('}')
	return f.writeAtomic(indexFile, buf.Bytes())
}

// Resolve returns the descriptor index.json tags tag, read afresh.
//
// image-spec v1.1.1 annotations.md (org.opencontainers.image.ref.name):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/annotations.md#pre-defined-annotation-keys
func (f *FS) Resolve(ctx context.Context, tag string) (oci.Descriptor, error) {
	fail := func(err error) (oci.Descriptor, error) { return oci.Descriptor{}, &Error{Op: "resolve", Err: err} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := ValidateTag(tag); err != nil {
		return fail(err)
	}
	idx, err := f.readIndexView()
	if err != nil {
		return fail(err)
	}
	for _, e := range idx.entries {
		if e.tag() == tag {
			return e.owned(), nil
		}
	}
	return fail(fmt.Errorf("tag %q not found in %s: %w", tag, f.dir, errdef.ErrNotFound))
}

// Tags lists index.json's ref.name annotations in lexical order.
func (f *FS) Tags(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "tags", Err: err}
	}
	idx, err := f.readIndexView()
	if err != nil {
		return nil, &Error{Op: "tags", Err: err}
	}
	tags := []string{}
	for _, e := range idx.entries {
		if t := e.tag(); t != "" {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// Roots returns index.json's manifests entries, tagged or not, in file order.
// An untagged oci:DIR names the layout's only root.
func (f *FS) Roots(ctx context.Context) ([]oci.Descriptor, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "roots", Err: err}
	}
	idx, err := f.readIndexView()
	if err != nil {
		return nil, &Error{Op: "roots", Err: err}
	}
	out := make([]oci.Descriptor, 0, len(idx.entries))
	for _, e := range idx.entries {
		out = append(out, e.owned())
	}
	return out, nil
}

// Tag records desc in index.json under tag, replacing the entry that held the
// tag before (in place, so the order of the others is kept) and any untagged
// entry for the same digest, which the tagged one makes redundant. desc must
// be stored already and carry its media type, which other tools need to read
// the entry.
//
// image-spec v1.1.1 §index.json file: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func (f *FS) Tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	if err := f.tag(ctx, desc, tag); err != nil {
		return &Error{Op: "tag", Digest: desc.Digest, Err: err}
	}
	return nil
}

func (f *FS) tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	if desc.MediaType == "" {
		return fmt.Errorf("tag %q: descriptor has no media type: %w", tag, errdef.ErrInvalid)
	}
	size, err := f.stat(ctx, desc.Digest)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	if desc.Size != size {
		return fmt.Errorf("tag %q: manifest is stored with %d bytes, descriptor says %d: %w", tag, size, desc.Size, errdef.ErrSizeMismatch)
	}
	annotations := maps.Clone(desc.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[refNameAnno] = tag
	desc.Annotations = annotations
	raw, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	return f.Locked(ctx, func() error {
		idx, err := f.readIndex()
		if err != nil {
			return err
		}
		placed := false
		kept := idx.entries[:0]
		for _, e := range idx.entries {
			switch {
			case e.tag() == tag && !placed:
				kept = append(kept, entry{raw: raw, desc: desc})
				placed = true
			case e.tag() == tag, e.tag() == "" && e.desc.Digest == desc.Digest:
				// dropped: a duplicate of the tag, or made redundant by it
			default:
				kept = append(kept, e)
			}
		}
		if !placed {
			kept = append(kept, entry{raw: raw, desc: desc})
		}
		idx.entries = kept
		return f.writeIndex(idx)
	})
}

// ValidateTag accepts the union of the docker tag grammar and the image-spec
// ref.name grammar, so tags copied from a registry and names written by
// skopeo or oras both work; it rejects what could not be either.
//
// image-spec v1.1.1 annotations.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/annotations.md#pre-defined-annotation-keys
func ValidateTag(tag string) error {
	if tag == "" || len(tag) > 255 {
		return fmt.Errorf("tag %q: must be 1 to 255 characters: %w", tag, errdef.ErrInvalid)
	}
	for i, c := range []byte(tag) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		sep := c == '_' || c == '.' || c == '-' || c == ':' || c == '@' || c == '+' || c == '/'
		if !alnum && !(sep && (i > 0 || c == '_')) {
			return fmt.Errorf("tag %q: invalid character %q at %d: %w", tag, c, i, errdef.ErrInvalid)
		}
	}
	return nil
}
