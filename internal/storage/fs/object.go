package fs

import (
	iofs "io/fs"
	"os"
	"strconv"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// object is an open file. Embedding *os.File keeps its SyscallConn and
// WriteTo methods, so net/http can send it with sendfile(2).
type object struct {
	*os.File
	info storage.Info
}

func newObject(f *os.File, key string, fi iofs.FileInfo) *object {
	return &object{File: f, info: storage.Info{
		Key:     key,
		Size:    fi.Size(),
		ModTime: fi.ModTime().UTC(),
		ETag:    etag(fi),
	}}
}

// Info describes the object as it was when opened.
func (o *object) Info() storage.Info { return o.info }

// etag derives a strong validator from the file's metadata, as Apache and
// nginx do, rather than hashing its content: Open stays one open and one
// fstat, and files written by other tools get a validator too.
//
// Every Put creates a new file (a new inode, at least until a freed one is
// reused), and Store.stamp gives it a modification time that never repeats
// within the process, so inode-size-mtime changes whenever Put changes the
// content. The stat comes from the open descriptor, so the ETag always
// describes the bytes this object reads.
func etag(fi iofs.FileInfo) string {
	b := make([]byte, 0, 48)
	b = strconv.AppendUint(b, inode(fi), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.Size(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 16)
	return string(b)
}
