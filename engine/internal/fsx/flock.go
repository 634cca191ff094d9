//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fsx

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// Flock takes an exclusive lock on fh, polling so that ctx can cancel the wait.
func Flock(ctx context.Context, fh *os.File) error {
	for {
		err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return &os.PathError{Op: "flock", Path: fh.Name(), Err: err}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Funlock releases Flock's lock.
func Funlock(fh *os.File) { syscall.Flock(int(fh.Fd()), syscall.LOCK_UN) }
