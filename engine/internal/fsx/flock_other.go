//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fsx

import (
	"context"
	"os"
)

// Flock is a no-op where flock(2) is missing: writers in one process are still
// serialised by their own mutexes, writers in several processes are not.
func Flock(ctx context.Context, fh *os.File) error { return ctx.Err() }

// Funlock releases Flock's lock.
func Funlock(fh *os.File) {}
