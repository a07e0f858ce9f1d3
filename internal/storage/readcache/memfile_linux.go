package readcache

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// memFile is a cached body in an anonymous memory file (memfd_create(2)),
// sealed against changes. Each reader opens it again through /proc, which
// gives the reader a file offset of its own, so that net/http sends it with
// sendfile(2) as it sends the folder backend's files: no copy through user
// space. The memory is the kernel's (shmem), released when the file is
// dropped and the last reader closes it; it goes away with the process,
// also after kill -9.
//
// With Config.Dir, the file is instead an unnamed temporary file in that
// folder (open(2) with O_TMPFILE): on the page cache of a disk filesystem,
// which sends faster than shmem where the latter has no huge pages (see
// package doc), gone as well when the process ends. It cannot be sealed.
type memFile struct {
	mu     sync.RWMutex // write-locked to close f; read-locked while reopening by number
	f      *os.File
	path   string // /proc/self/fd/N
	seal   bool
	closed bool
}

// newMemFile creates an empty memory file for key, or an unnamed
// temporary file in dir when dir is not empty.
func newMemFile(key, dir string) (*memFile, error) {
	var (
		fd   int
		err  error
		seal = dir == ""
	)
	if seal {
		fd, err = unix.MemfdCreate("osprey-readcache:"+key, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	} else {
		fd, err = unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("creating a cache file: %w", err)
	}
	f := os.NewFile(uintptr(fd), "readcache:"+key)
	return &memFile{f: f, path: "/proc/self/fd/" + strconv.Itoa(fd), seal: seal}, nil
}

// fill copies exactly size bytes of r into m and seals it.
func (m *memFile) fill(r io.Reader, size int64) error {
	if err := m.f.Truncate(size); err != nil { // one allocation of the size, not many
		return err
	}
	// Large writes, so that the page cache holds the body in large folios
	// where the filesystem has them: sendfile then walks fewer of them.
	buf := fillBuffers.Get().(*[]byte)
	defer fillBuffers.Put(buf)
	if n, err := io.CopyBuffer(writerOnly{m.f}, io.LimitReader(r, size), *buf); err != nil || n != size {
		return ended(n, size, cmp.Or(err, io.EOF))
	}
	if err := checkEnd(r, size); err != nil {
		return err
	}
	if !m.seal {
		return nil
	}
	if _, err := unix.FcntlInt(m.f.Fd(), unix.F_ADD_SEALS,
		unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		return fmt.Errorf("sealing: %w", err)
	}
	return nil
}

// fillBuffers are the copy buffers of fill.
var fillBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// writerOnly hides the file's ReadFrom, so that io.CopyBuffer uses the buffer.
type writerOnly struct{ io.Writer }

// reopen returns a new read-only file of m's bytes at offset 0, or nil
// when m was dropped or cannot be opened again (then the caller reads the
// backend).
func (m *memFile) reopen() *os.File {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil // its number may belong to another file by now
	}
	f, err := os.Open(m.path)
	if err != nil {
		return nil
	}
	return f
}

// drop closes m's own descriptor; readers that reopened it keep theirs.
func (m *memFile) drop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		_ = m.f.Close()
	}
}

// CheckDir reports whether Config.Dir may be dir: a folder where unnamed
// temporary files (O_TMPFILE) can be created. Without one, bodies would
// silently go to the heap instead.
func CheckDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("readcache: cannot create unnamed files in %s (a folder on a filesystem with O_TMPFILE: ext4, XFS, Btrfs, tmpfs): %w", dir, err)
	}
	return unix.Close(fd)
}
