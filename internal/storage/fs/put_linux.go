//go:build linux

package fs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// put writes data to a new temporary file in dst's directory and renames it
// over dst. It costs five system calls when the directory exists and the
// umask keeps 0644 (openat, write, close, utimensat, renameat): the file is
// handled by descriptor rather than as an *os.File, which would also
// register it with the poller; the directory is created only when the open
// finds it missing; the mode is set at creation unless the umask would
// strip it. With Sync, fsync of the file and of the directory are added.
func (s *Store) put(dst string, data []byte) (err error) {
	dir := filepath.Dir(dst)
	fd, tmp, err := createTemp(dir)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		fd, tmp, err = createTemp(dir)
	}
	if err != nil {
		return err
	}
	open := true
	defer func() {
		if err != nil {
			if open {
				_ = syscall.Close(fd)
			}
			_ = os.Remove(tmp)
		}
	}()
	if s.chmod {
		if err := ignoringEINTR(func() error { return syscall.Fchmod(fd, 0o644) }); err != nil {
			return &os.PathError{Op: "chmod", Path: tmp, Err: err}
		}
	}
	for b := data; len(b) > 0; {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: tmp, Err: err}
		}
		if n <= 0 {
			return &os.PathError{Op: "write", Path: tmp, Err: io.ErrShortWrite}
		}
		b = b[n:]
	}
	if s.Sync {
		if err := ignoringEINTR(func() error { return syscall.Fsync(fd) }); err != nil {
			return &os.PathError{Op: "sync", Path: tmp, Err: err}
		}
	}
	open = false
	if err := syscall.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: tmp, Err: err}
	}
	stamp := s.stamp()
	if err := os.Chtimes(tmp, stamp, stamp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if s.Sync {
		return syncDir(dir)
	}
	return nil
}

// createTemp creates a new temporary file in dir, mode 0644 less the umask,
// and returns its descriptor and path.
func createTemp(dir string) (int, string, error) {
	const flags = syscall.O_WRONLY | syscall.O_CREAT | syscall.O_EXCL | syscall.O_CLOEXEC
	for try := 0; ; try++ {
		p := filepath.Join(dir, tempPrefix+strconv.FormatUint(rand.Uint64(), 36))
		var fd int
		err := ignoringEINTR(func() (err error) {
			fd, err = syscall.Open(p, flags, 0o644)
			return err
		})
		if err == nil {
			return fd, p, nil
		}
		if err != syscall.EEXIST || try == 100 {
			return -1, "", &os.PathError{Op: "open", Path: p, Err: err}
		}
	}
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

// umaskStrips reports whether the process umask clears any bit of perm,
// reading it from /proc/self/status (setting it to read it back would race
// with other goroutines creating files). When it cannot tell, it says yes.
func umaskStrips(perm os.FileMode) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for line := range bytes.Lines(b) {
		v, ok := bytes.CutPrefix(line, []byte("Umask:"))
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 32)
		if err != nil {
			return true
		}
		return os.FileMode(mask)&perm != 0
	}
	return true
}
