//go:build unix

package layer

import (
	"io/fs"
	"syscall"
)

// fileStat is what WriteDir needs beyond fs.FileInfo.
type fileStat struct {
	uid, gid     int
	nlink        uint64
	id           fileID
	major, minor int64
}

// fileID identifies a file across its names (device and inode).
type fileID struct{ dev, ino uint64 }

// statOf reads owner, link count, identity and device numbers from the
// platform's stat.
func statOf(fi fs.FileInfo) fileStat {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStat{}
	}
	rdev := uint64(st.Rdev)
	return fileStat{
		uid: int(st.Uid), gid: int(st.Gid), nlink: uint64(st.Nlink),
		id: fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)},
		// Linux's encoding (glibc sysmacros.h): the major and minor
		// numbers are split across the 64 bits.
		major: int64((rdev>>8)&0xfff | (rdev>>32)&^0xfff),
		minor: int64(rdev&0xff | (rdev>>12)&^0xff),
	}
}
