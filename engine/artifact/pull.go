package artifact

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// PullOptions bound a pull.
type PullOptions struct {
	// ManifestLimit bounds the manifest read; <= 0 means oci.DefaultManifestLimit.
	ManifestLimit int64
	// MaxUnpackSize bounds the bytes one directory layer may decompress to,
	// against decompression bombs; <= 0 means DefaultMaxUnpackSize.
	MaxUnpackSize int64
}

// DefaultMaxUnpackSize is PullOptions.MaxUnpackSize's default.
const DefaultMaxUnpackSize = 64 << 30

// PulledFile is one layer written out.
type PulledFile struct {
	// Name is the layer's title: the path written, relative to the directory.
	Name string `json:"name"`
	// Descriptor is the layer's.
	Descriptor oci.Descriptor `json:"descriptor"`
	// Mode is the permission bits set; 0 when none was recorded. JSON
	// carries it as an octal string, "0755".
	Mode fs.FileMode `json:"-"`
	// Unpacked is true for a directory layer, unpacked under Name.
	Unpacked bool `json:"unpacked,omitempty"`
}

// MarshalJSON writes Mode in octal, as people read modes.
func (f PulledFile) MarshalJSON() ([]byte, error) {
	type plain PulledFile
	var mode string
	if f.Mode != 0 {
		mode = fmt.Sprintf("%04o", uint32(f.Mode.Perm()))
	}
	return json.Marshal(struct {
		plain
		Mode string `json:"mode,omitempty"`
	}{plain(f), mode})
}

// PullResult is what Pull wrote and what it left out.
type PullResult struct {
	// Manifest describes the artifact pulled.
	Manifest oci.Descriptor `json:"manifest"`
	// Files are the layers written, in manifest order.
	Files []PulledFile `json:"files"`
	// Skipped are the layers without a title, which name no file.
	Skipped []oci.Descriptor `json:"skipped,omitempty"`
}

// Pull writes the files of the artifact id names in src under dir (created
// if missing): each layer with a title to that path, a directory layer
// (AnnotationUnpack) unpacked there as oras does, file modes restored where
// recorded. Every title is checked before anything is written, and every
// write goes through an os.Root, so no title, tar entry or symlink (in the
// artifact or already in dir) can place a file outside dir: such an
// artifact fails with errdef.ErrInvalid. Each file is written to a temporary
// name and renamed into place once its digest is verified; a directory layer
// is downloaded and verified whole before it is unpacked.
//
// image-spec v1.1.1 annotations.md §Pre-Defined Annotation Keys (title):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/annotations.md#pre-defined-annotation-keys
func Pull(ctx context.Context, src transport.Source, id, dir string, opts PullOptions) (*PullResult, error) {
	if opts.MaxUnpackSize <= 0 {
		opts.MaxUnpackSize = DefaultMaxUnpackSize
	}
	fail := func(name string, err error) (*PullResult, error) {
		return nil, &Error{Op: "pull", Name: name, Err: err}
	}
	res, err := List(ctx, src, id, opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fail(dir, err)
	}
	defer root.Close()
	for _, f := range res.Files {
		name := path.Clean(f.Name)
		if f.Unpacked {
			err = pullDir(ctx, src, root, name, f.Descriptor, opts.MaxUnpackSize)
		} else {
			err = pullFile(ctx, src, root, name, f.Descriptor, f.Mode)
		}
		if err != nil {
			return fail(f.Name, escapeErr(err))
		}
	}
	return res, nil
}

// List reads the manifest of the artifact id names in src and returns what
// Pull would write, checked as Pull checks it (titles, modes), without
// writing anything: a caller that sends the files elsewhere (the API
// streams them) starts from here.
func List(ctx context.Context, src transport.Source, id string, opts PullOptions) (*PullResult, error) {
	fail := func(name string, err error) (*PullResult, error) {
		return nil, &Error{Op: "pull", Name: name, Err: err}
	}
	m, err := fetchManifest(ctx, src, id, opts.ManifestLimit)
	if err != nil {
		return fail(id, err)
	}
	if m.IsIndex() {
		return fail(id, fmt.Errorf("%s is an index; pull one of its manifests by digest: %w", m.Digest, errdef.ErrUnsupported))
	}
	res := &PullResult{Manifest: m.Descriptor(), Files: []PulledFile{}}
	seen := map[string]bool{}
	for _, l := range m.Layers {
		title, ok := l.Annotations[AnnotationTitle]
		if !ok {
			res.Skipped = append(res.Skipped, l)
			continue
		}
		if err := checkTitle(title); err != nil {
			return fail(title, err)
		}
		if seen[path.Clean(title)] {
			return fail(title, fmt.Errorf("two layers are titled %q: %w", title, errdef.ErrInvalid))
		}
		seen[path.Clean(title)] = true
		f := PulledFile{Name: title, Descriptor: l, Unpacked: l.Annotations[AnnotationUnpack] == "true"}
		if !f.Unpacked {
			if f.Mode, err = fileMode(l); err != nil {
				return fail(title, err)
			}
		}
		res.Files = append(res.Files, f)
	}
	return res, nil
}

// fetchManifest resolves id and reads its manifest, bounded and verified.
func fetchManifest(ctx context.Context, src transport.Source, id string, limit int64) (*oci.Manifest, error) {
	if limit <= 0 {
		limit = oci.DefaultManifestLimit
	}
	desc, err := src.Resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	return transport.FetchManifest(ctx, src, desc, limit)
}

// fileMode reads AnnotationFileMode; 0 means none was recorded.
func fileMode(l oci.Descriptor) (fs.FileMode, error) {
	s, ok := l.Annotations[AnnotationFileMode]
	if !ok {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v&^0o777 != 0 || v == 0 {
		return 0, fmt.Errorf("%s %q is not octal permission bits: %w", AnnotationFileMode, s, errdef.ErrInvalid)
	}
	return fs.FileMode(v), nil
}

// pullFile writes layer l to name, verified, with mode (0: the default).
func pullFile(ctx context.Context, src transport.Source, root *os.Root, name string, l oci.Descriptor, mode fs.FileMode) error {
	rc, err := src.Fetch(ctx, l)
	if err != nil {
		return err
	}
	defer rc.Close()
	return writeFile(root, name, rc, mode)
}

// writeFile writes r to a temporary name beside name and renames it into
// place when r ends cleanly (a verifying reader's EOF), so that a failed or
// corrupt download never shows at name. Renaming replaces a symlink at name
// rather than writing through it. mode 0 leaves the usual 0666 less umask.
func writeFile(root *os.Root, name string, r io.Reader, mode fs.FileMode) error {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	tmp := path.Join(path.Dir(name), "."+path.Base(name)+".stevedore-"+randomSuffix())
	perm := fs.FileMode(0o666)
	if mode != 0 {
		perm = 0o600
	}
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && mode != 0 {
		err = root.Chmod(tmp, mode)
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}

// randomSuffix names temporary files; collisions are refused by O_EXCL.
func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pullDir downloads a directory layer to a temporary file in root, which
// verifies it whole, then unpacks it under name.
func pullDir(ctx context.Context, src transport.Source, root *os.Root, name string, l oci.Descriptor, limit int64) error {
	tmp := ".stevedore-download-" + randomSuffix()
	f, err := root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		_ = root.Remove(tmp)
	}()
	rc, err := src.Fetch(ctx, l)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, rc)
	rc.Close()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var want digest.Digest
	if s := l.Annotations[AnnotationContentDigest]; s != "" {
		want = digest.Digest(s)
		if err := oci.ValidateDigest(want); err != nil {
			return fmt.Errorf("%s: %w", AnnotationContentDigest, err)
		}
	}
	return unpack(ctx, root, name, f, want, limit)
}

// isNotExist reports a missing file, which removing before replacing allows.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
