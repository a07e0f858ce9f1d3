//go:build !unix

package fs

import iofs "io/fs"

// inode is 0 where FileInfo does not expose one; the ETag then relies on
// size and the modification time Put assigns.
func inode(iofs.FileInfo) uint64 { return 0 }
