//go:build unix

package fs

import (
	iofs "io/fs"
	"syscall"
)

// inode returns the file's inode number.
func inode(fi iofs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) // Ino is not uint64 on every platform
	}
	return 0
}
