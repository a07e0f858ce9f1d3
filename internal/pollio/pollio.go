// Package pollio reads and writes sockets and pipes that are in the Go
// runtime's poller with raw non-blocking system calls.
//
// The standard library makes every read and write of such a descriptor a
// syscall.Syscall, which tells the scheduler that the thread may block:
// the call may hand the P to another thread, and when the runtime's
// monitor thread (sysmon) sleeps, as it does whenever the process was
// idle, the call wakes it first. A live channel's Go process is idle
// between the hundreds of small reads and writes a second that carry its
// media (the publisher's socket, ffmpeg's pipes), so on a machine whose
// cores ffmpeg keeps busy most of its CPU went to those wake-ups. A read
// or write of a non-blocking descriptor never blocks, so it can be a
// syscall.RawSyscall; waiting for the descriptor stays the poller's, with
// deadlines and Close working as before.
//
// The race detector does not see the bytes these calls move (the standard
// library annotates its own reads and writes for it).
//
// Use it on hot media paths only. NewReader and NewWriter return nil for a
// descriptor in blocking mode (a regular file, or a pipe whose Fd was
// taken): use its own Read and Write then.
package pollio

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Reader reads from a pollable descriptor with raw system calls.
type Reader struct {
	rc syscall.RawConn
}

// NewReader returns a Reader of c, or nil if c has no non-blocking
// descriptor (a raw call on a blocking one would hold its thread, unseen
// by the scheduler, for as long as it blocks).
func NewReader(c syscall.Conn) *Reader {
	rc := nonBlocking(c)
	if rc == nil {
		return nil
	}
	return &Reader{rc: rc}
}

// nonBlocking returns c's RawConn if its descriptor is non-blocking.
func nonBlocking(c syscall.Conn) syscall.RawConn {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var flags uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		flags, _, errno = syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil || errno != 0 || flags&syscall.O_NONBLOCK == 0 {
		return nil
	}
	return rc
}

// Read reads up to len(p) bytes, waiting in the poller while there are
// none. It returns io.EOF at the end of the stream, and the poller's error
// (net.ErrClosed, os.ErrClosed, os.ErrDeadlineExceeded) when the
// descriptor is closed or its deadline passes while waiting.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait in the poller
			}
			n, errno = int(r1), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Writer writes to a pollable descriptor with raw system calls.
type Writer struct {
	rc syscall.RawConn
}

// NewWriter returns a Writer of c, or nil if c has no non-blocking
// descriptor.
func NewWriter(c syscall.Conn) *Writer {
	rc := nonBlocking(c)
	if rc == nil {
		return nil
	}
	return &Writer{rc: rc}
}

// Write writes all of p, waiting in the poller while the descriptor is
// full. On an error it returns how much was written before it.
func (w *Writer) Write(p []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := w.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			r1, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
			switch e {
			case 0:
				n += int(r1)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait in the poller
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return n, err
	case errno != 0:
		return n, os.NewSyscallError("write", errno)
	}
	return n, nil
}

// ReaderFor returns a Reader of r when r has a non-blocking descriptor,
// else r itself.
func ReaderFor(r io.Reader) io.Reader {
	if sc, ok := r.(syscall.Conn); ok {
		if pr := NewReader(sc); pr != nil {
			return pr
		}
	}
	return r
}

// WriterFor returns a Writer of w when w has a non-blocking descriptor,
// else w itself.
func WriterFor(w io.Writer) io.Writer {
	if sc, ok := w.(syscall.Conn); ok {
		if pw := NewWriter(sc); pw != nil {
			return pw
		}
	}
	return w
}
