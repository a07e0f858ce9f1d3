package intake

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// syscalls returns this process's read and write system calls so far
// (/proc/self/io).
func syscalls(t *testing.T) (reads, writes int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// smallReads hands out at most 4 KiB per Read, like a multipart part.
type smallReads struct{ r io.Reader }

func (s smallReads) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	return s.r.Read(p)
}

// TestReceiveWritesInLargeBlocks: 8 MiB arriving in 4 KiB reads is stored
// in about 8 writes of 1 MiB, not 2,048 of 4 KiB (each a system call and
// a scheduler hand-off under load).
func TestReceiveWritesInLargeBlocks(t *testing.T) {
	s, _ := newTestService(t, func(c *Config) { c.MaxSize = 64 << 20 })
	data := randomBytes(t, 8<<20)
	_, w0 := syscalls(t)
	path, n, err := s.receive(smallReads{bytes.NewReader(data)}, func() (*os.File, error) {
		return os.CreateTemp(t.TempDir(), "recv-*.part")
	})
	_, w1 := syscalls(t)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("receive: %d bytes, %v", n, err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored file differs from the source (%d of %d bytes, %v)", len(got), len(data), err)
	}
	// The runtime may write a little on its own (wake-ups); 2,048 writes
	// would mean one per read.
	if writes := w1 - w0; writes > 100 {
		t.Errorf("%d write system calls for 8 MiB in 4 KiB reads, want about 8", writes)
	}
}
