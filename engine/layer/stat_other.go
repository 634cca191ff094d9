//go:build !unix

package layer

import "io/fs"

// fileStat is what WriteDir needs beyond fs.FileInfo; elsewhere than Unix
// files have no owner, link count or device numbers tar can express.
type fileStat struct {
	uid, gid     int
	nlink        uint64
	id           fileID
	major, minor int64
}

// fileID identifies a file across its names.
type fileID struct{ dev, ino uint64 }

func statOf(fs.FileInfo) fileStat { return fileStat{} }
