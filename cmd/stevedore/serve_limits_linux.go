package main

import (
	"os"
	"syscall"
)

// descriptorLimit is the process's RLIMIT_NOFILE (which the Go runtime
// raised to the hard limit at start), 0 when unknown.
func descriptorLimit() int64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<40 {
		return 0
	}
	return int64(rl.Cur)
}

// openDescriptors counts the process's open descriptors.
func openDescriptors() (int64, error) {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return int64(len(names)), err
}

// freeSpace is what the filesystem holding dir has free for this process
// (statfs f_bavail: the blocks root keeps back do not count).
func freeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
