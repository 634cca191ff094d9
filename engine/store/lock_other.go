//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import (
	"context"
	"os"
)

// flock is a no-op where flock(2) is missing: writers in one process are still
// serialised by FS's mutex, writers in several processes are not.
func flock(ctx context.Context, fh *os.File) error { return ctx.Err() }

func funlock(fh *os.File) {}
