package layer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// TarOptions decide how entries are written. The zero value keeps owners
// and modification times as found (to the second) and never access or
// change times.
type TarOptions struct {
	// Normalize makes the tar a function of names, modes, link targets and
	// contents only, so the same input gives the same digest on any machine
	// at any time: uid and gid 0, no user or group names, every mtime
	// ModTime, no access or change times. It is what --reproducible and
	// SOURCE_DATE_EPOCH ask for.
	Normalize bool
	// ModTime is the mtime every entry gets under Normalize:
	// SOURCE_DATE_EPOCH when the caller has one. The zero value means the
	// Unix epoch (1970-01-01T00:00:00Z).
	ModTime time.Time
}

// epoch is the mtime a normalised entry gets.
func (o TarOptions) epoch() time.Time {
	if o.ModTime.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return o.ModTime.UTC().Truncate(time.Second)
}

// paxBasic are the PAX keys of the header's own fields, which the writer
// re-derives from them; atime and ctime among them are what Normalize drops.
// POSIX.1-2008 pax §pax Extended Header Keyword Definitions:
// https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_03
var paxBasic = []string{"atime", "ctime", "mtime", "path", "linkpath", "size", "uid", "gid", "uname", "gname"}

// normalize rewrites h as Normalize asks (and leaves it alone otherwise).
// Format is left to the writer, which then picks the plainest format that
// holds the header (USTAR, then PAX) and never writes access or change times.
func (o TarOptions) normalize(h *tar.Header) {
	if !o.Normalize {
		return
	}
	h.Uid, h.Gid = 0, 0
	h.Uname, h.Gname = "", ""
	h.ModTime = o.epoch()
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	for _, k := range paxBasic {
		delete(h.PAXRecords, k)
	}
	if len(h.PAXRecords) == 0 {
		h.PAXRecords = nil
	}
	h.Format = tar.FormatUnknown
}

// CopyTar re-writes the tar stream r to w entry by entry, normalised as opts
// says. Names are cleaned; an absolute name, or one (or a hardlink target)
// that climbs out of the root with "..", fails with errdef.ErrInvalid before
// anything of it is written: a layer must not write outside the directory it
// is unpacked into. Symlink targets are kept as they are: a link is data,
// resolved (inside the container's root) only at run time.
//
// image-spec v1.1.1 layer.md §Changesets (entries are paths relative to the root):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#change-types
func CopyTar(ctx context.Context, w io.Writer, r io.Reader, opts TarOptions) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	buf := make([]byte, copyBuffer)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading input tar: %v: %w", err, errdef.ErrInvalid)
		}
		name, err := cleanName(h.Name, h.Typeflag == tar.TypeDir)
		if err != nil {
			return err
		}
		h.Name = name
		if h.Typeflag == tar.TypeLink {
			if h.Linkname, err = cleanName(h.Linkname, false); err != nil {
				return &Error{Path: h.Name, Err: fmt.Errorf("hardlink target: %w", err)}
			}
		}
		opts.normalize(h)
		if err := tw.WriteHeader(h); err != nil {
			return &Error{Path: h.Name, Err: err}
		}
		if _, err := io.CopyBuffer(tw, tr, buf); err != nil {
			return &Error{Path: h.Name, Err: err}
		}
	}
	return tw.Close()
}

// cleanName turns a tar entry name into a clean path relative to the root
// ("./" for the root itself), refusing absolute names and "..".
func cleanName(name string, dir bool) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", &Error{Path: name, Err: fmt.Errorf("absolute path in a layer: %w", errdef.ErrInvalid)}
	}
	p := path.Clean(name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", &Error{Path: name, Err: fmt.Errorf("path escapes the root: %w", errdef.ErrInvalid)}
	}
	if p == "." {
		return "./", nil
	}
	if dir {
		p += "/"
	}
	return p, nil
}

// copyBuffer is the size of the buffer file contents move through.
const copyBuffer = 1 << 20
