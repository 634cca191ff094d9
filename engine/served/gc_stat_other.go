//go:build !linux

package served

import (
	"io/fs"
	"time"
)

// ctime is unknown here; GC judges repository files by their mtime alone.
func ctime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }

// linkCount is unknown here, so GC leaves the shared pool alone.
func linkCount(fs.FileInfo) (uint64, bool) { return 0, false }
