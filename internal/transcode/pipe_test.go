package transcode

import (
	"os"
	"syscall"
	"testing"
)

// TestSetPipeSizeKeepsThePipePollable enlarges the pipe and leaves its read
// end non-blocking, in the runtime's poller. A read end in blocking mode
// (what (*os.File).Fd does to it) ties up an OS thread per read for the
// whole transcode.
func TestSetPipeSizeKeepsThePipePollable(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	setPipeSize(r)

	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size, flags uintptr
	if err := rc.Control(func(fd uintptr) {
		const fGetPipeSz = 1032 // F_GETPIPE_SZ
		size, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSz, 0)
		flags, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if flags&syscall.O_NONBLOCK == 0 {
		t.Error("the read end was put in blocking mode")
	}
	if size < pipeSize {
		t.Errorf("pipe buffer is %d bytes, want %d (pipe-max-size allows it here)", size, pipeSize)
	}
}
