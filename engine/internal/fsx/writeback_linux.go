//go:build linux

package fsx

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing f's dirty pages in
// [off, off+n) to disk and returns without waiting (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE). It makes nothing durable by itself, so the fsync
// before an acknowledgement stays; it only moves the disk work from that
// fsync to the time the bytes arrive. Failure is harmless and ignored: the
// fsync reports real I/O errors.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
