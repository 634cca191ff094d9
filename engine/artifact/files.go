package artifact

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// describeFile returns the layer for the file or directory at p, titled
// name: a file's digest is computed now (first read) and its bytes sent
// later (second read); a directory is tarred and gzipped into tmp once.
func describeFile(ctx context.Context, p, name, mediaType, tmp string) (blob, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return blob{}, err
	}
	if fi.IsDir() {
		return describeDir(ctx, p, name, mediaType, tmp)
	}
	if !fi.Mode().IsRegular() {
		return blob{}, fmt.Errorf("%s is neither a regular file nor a directory: %w", p, errdef.ErrUnsupported)
	}
	d, size, err := hashFile(p)
	if err != nil {
		return blob{}, err
	}
	if mediaType == "" {
		mediaType = DefaultFileMediaType
	}
	return blob{
		desc: oci.Descriptor{MediaType: mediaType, Digest: d, Size: size, Annotations: map[string]string{
			AnnotationTitle:    name,
			AnnotationFileMode: fmt.Sprintf("%04o", fi.Mode().Perm()),
		}},
		open: func() (io.ReadCloser, error) { return os.Open(p) },
	}, nil
}

// hashFile returns the sha256 digest and size of the file at p.
func hashFile(p string) (digest.Digest, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	dg := digest.Canonical.Digester()
	n, err := io.Copy(dg.Hash(), f)
	if err != nil {
		return "", 0, err
	}
	return dg.Digest(), n, nil
}

// describeDir tars the directory dir with entries under name, gzips it into
// a file in tmp, and describes it as oras does: digest of the gzip, and
// AnnotationContentDigest of the tar inside, so that `oras pull` unpacks it.
// Entries are in lexical order with uid/gid 0, no user names and times at
// the Unix epoch, so the same tree gives the same digest.
func describeDir(ctx context.Context, dir, name, mediaType, tmp string) (blob, error) {
	f, err := os.CreateTemp(tmp, "dir-*.tar.gz")
	if err != nil {
		return blob{}, err
	}
	defer f.Close()
	gzd, tard := digest.Canonical.Digester(), digest.Canonical.Digester()
	cw := &countWriter{w: io.MultiWriter(f, gzd.Hash())}
	gz := gzip.NewWriter(cw)
	tw := tar.NewWriter(io.MultiWriter(gz, tard.Hash()))
	if err := tarDir(ctx, tw, dir, name); err != nil {
		return blob{}, err
	}
	if err := tw.Close(); err != nil {
		return blob{}, err
	}
	if err := gz.Close(); err != nil {
		return blob{}, err
	}
	if err := f.Close(); err != nil {
		return blob{}, err
	}
	if mediaType == "" {
		mediaType = DefaultDirMediaType
	}
	tp := f.Name()
	return blob{
		desc: oci.Descriptor{MediaType: mediaType, Digest: gzd.Digest(), Size: cw.n, Annotations: map[string]string{
			AnnotationTitle:         name,
			AnnotationContentDigest: tard.Digest().String(),
			AnnotationUnpack:        "true",
		}},
		open: func() (io.ReadCloser, error) { return os.Open(tp) },
	}, nil
}

// tarDir writes dir's tree to tw, each entry named under prefix. Symlinks
// are kept as links; hard links become regular files, as oras makes them.
//
// image-spec v1.1.1 layer.md §File Types:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#file-types
func tarDir(ctx context.Context, tw *tar.Writer, dir, prefix string) error {
	epoch := time.Unix(0, 0)
	return filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		var link string
		switch mode := fi.Mode(); {
		case mode&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case mode.IsDir(), mode.IsRegular():
		default:
			return fmt.Errorf("%s is a %v, which an artifact cannot hold: %w", p, mode.Type(), errdef.ErrUnsupported)
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = path.Join(prefix, filepath.ToSlash(rel))
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = epoch, time.Time{}, time.Time{}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		// The header promised fi.Size() bytes; a file that grew or shrank since
		// is an error rather than a corrupt tar.
		if _, err := io.Copy(tw, f); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
