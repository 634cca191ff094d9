package analyze

import (
	"archive/tar"
	"context"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// File types, as FileInfo.Type reports them.
const (
	TypeFile     = "file"
	TypeDir      = "dir"
	TypeSymlink  = "symlink"
	TypeHardlink = "hardlink"
	TypeChar     = "char"
	TypeBlock    = "block"
	TypeFifo     = "fifo"
	TypeWhiteout = "whiteout" // only in one layer's own listing
	TypeOpaque   = "opaque"   // only in one layer's own listing
	TypeOther    = "other"
)

// FileInfo describes one path of an image (or of one layer).
type FileInfo struct {
	// Path is relative to the image root, cleaned: "etc/passwd".
	Path     string    `json:"path"`
	Type     string    `json:"type"`
	Mode     int64     `json:"mode"` // permission and special bits, as in the tar header
	Size     int64     `json:"size"`
	UID      int       `json:"uid"`
	GID      int       `json:"gid"`
	Linkname string    `json:"linkname,omitempty"`
	ModTime  time.Time `json:"mtime"`
	// Layer is the index (from 0, the base) of the layer the path comes
	// from; LayerDigest names it.
	Layer       int           `json:"layer"`
	LayerDigest digest.Digest `json:"layerDigest"`

	ordinal int // the entry's position in its layer's tar
}

// FileMode is f's type and permission bits as io/fs says them, so that
// it prints as ls -l does ("drwxr-xr-x").
func (f FileInfo) FileMode() fs.FileMode {
	m := fs.FileMode(f.Mode & 0o777)
	for bit, fm := range map[int64]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if f.Mode&bit != 0 {
			m |= fm
		}
	}
	switch f.Type {
	case TypeDir:
		m |= fs.ModeDir
	case TypeSymlink:
		m |= fs.ModeSymlink
	case TypeChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case TypeBlock:
		m |= fs.ModeDevice
	case TypeFifo:
		m |= fs.ModeNamedPipe
	}
	return m
}

func typeOf(flag byte) string {
	switch flag {
	case tar.TypeReg, tar.TypeRegA:
		return TypeFile
	case tar.TypeDir:
		return TypeDir
	case tar.TypeSymlink:
		return TypeSymlink
	case tar.TypeLink:
		return TypeHardlink
	case tar.TypeChar:
		return TypeChar
	case tar.TypeBlock:
		return TypeBlock
	case tar.TypeFifo:
		return TypeFifo
	}
	return TypeOther
}

func infoOf(e entry, layer int, d digest.Digest) *FileInfo {
	fi := &FileInfo{Path: e.path, Layer: layer, LayerDigest: d, ordinal: e.ordinal}
	switch e.kind {
	case kindWhiteout:
		fi.Type = TypeWhiteout
	case kindOpaque:
		fi.Type = TypeOpaque
	default:
		h := e.hdr
		fi.Type, fi.Mode, fi.Size, fi.UID, fi.GID, fi.ModTime = typeOf(h.Typeflag), h.Mode, h.Size, h.Uid, h.Gid, h.ModTime.UTC()
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
			fi.Linkname = h.Linkname
		}
	}
	return fi
}

// LayerChanges is what one layer does to the filesystem below it.
type LayerChanges struct {
	Layer  int           `json:"layer"`
	Digest digest.Digest `json:"digest"`
	// Added paths did not exist below; Modified ones did and are replaced;
	// Deleted ones existed below and are gone (whiteouts, opaque
	// directories, a directory replaced by a file). Each is sorted.
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Deleted  []string `json:"deleted"`
}

// tree is the merged filesystem: each visible path and where it comes from.
// It holds metadata only, never content.
type tree struct {
	files map[string]*FileInfo
}

// merge reads every layer of m bottom-up and applies it; the per-layer
// changes are returned alongside.
func merge(ctx context.Context, src transport.Source, m *oci.Manifest, opts Options) (*tree, []LayerChanges, error) {
	t := &tree{files: map[string]*FileInfo{}}
	var changes []LayerChanges
	for i, l := range m.Layers {
		var entries []entry
		err := walkLayer(ctx, src, l, opts, func(e entry, _ *tar.Reader) error {
			entries = append(entries, e)
			return nil
		})
		if err != nil {
			return nil, nil, &Error{Op: "read", Layer: l.Digest, Err: err}
		}
		changes = append(changes, t.apply(i, l.Digest, entries))
	}
	return t, changes, nil
}

// apply applies one layer's entries. Whiteouts and opaque markers go first:
// they hide only what lower layers hold, never entries of their own layer
// (image-spec v1.1.1 layer.md §Whiteouts:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#whiteouts).
func (t *tree) apply(layer int, d digest.Digest, entries []entry) LayerChanges {
	removed := map[string]bool{}
	for _, e := range entries {
		switch e.kind {
		case kindWhiteout:
			t.remove(e.path, removed)
		case kindOpaque:
			t.removeUnder(e.path, removed)
		}
	}
	ch := LayerChanges{Layer: layer, Digest: d, Added: []string{}, Modified: []string{}, Deleted: []string{}}
	for _, e := range entries {
		if e.kind != kindFile || e.path == "" {
			continue
		}
		old, existed := t.files[e.path]
		fi := infoOf(e, layer, d)
		if existed && old.Type == TypeDir && fi.Type != TypeDir {
			// A directory replaced by anything else takes its contents with it.
			t.removeUnder(e.path, removed)
		}
		// A lower non-directory where this entry needs a parent directory
		// is replaced by the (implied) directory.
		for dir := path.Dir(e.path); dir != "."; dir = path.Dir(dir) {
			if p, ok := t.files[dir]; ok && p.Type != TypeDir {
				delete(t.files, dir)
				if p.Layer < layer {
					removed[dir] = true
				}
			}
		}
		t.files[e.path] = fi
		switch {
		case existed && old.Layer == layer:
			// The same path twice in one tar: the later entry wins, and the
			// change was already counted.
		case existed || removed[e.path]:
			ch.Modified = append(ch.Modified, e.path)
		default:
			ch.Added = append(ch.Added, e.path)
		}
		delete(removed, e.path)
	}
	for p := range removed {
		ch.Deleted = append(ch.Deleted, p)
	}
	sort.Strings(ch.Added)
	sort.Strings(ch.Modified)
	sort.Strings(ch.Deleted)
	return ch
}

// remove deletes p and everything under it.
func (t *tree) remove(p string, removed map[string]bool) {
	fi, ok := t.files[p]
	if ok {
		delete(t.files, p)
		removed[p] = true
	}
	// A known non-directory has nothing under it; anything else (a
	// directory, or a path only implied by its children) may.
	if !ok || fi.Type == TypeDir {
		t.removeUnder(p, removed)
	}
}

// removeUnder deletes everything below directory p ("" is the root).
func (t *tree) removeUnder(p string, removed map[string]bool) {
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	for q := range t.files {
		if strings.HasPrefix(q, prefix) && q != p {
			delete(t.files, q)
			removed[q] = true
		}
	}
}

// list returns the visible paths in lexical order.
func (t *tree) list() []FileInfo {
	out := make([]FileInfo, 0, len(t.files))
	for _, fi := range t.files {
		out = append(out, *fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
