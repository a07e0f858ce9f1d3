package pollio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// tcpPair returns both ends of a loopback TCP connection, closed at the
// end of the test.
func tcpPair(t *testing.T) (client net.Conn, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	return client, sc.(*net.TCPConn)
}

// TestPipeRoundTrip moves 8 MiB, far more than a pipe holds, through a
// Writer and a Reader: the writer waits in the poller when the pipe is
// full, the reader when it is empty, and every byte arrives in order,
// then io.EOF once the write end is closed.
func TestPipeRoundTrip(t *testing.T) {
	r, w := pipe(t)
	pr, pw := NewReader(r), NewWriter(w)
	if pr == nil || pw == nil {
		t.Fatal("a pipe from os.Pipe is non-blocking, yet no Reader or Writer")
	}
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i*7 + i>>11)
	}
	errc := make(chan error, 1)
	go func() {
		// uneven pieces, some larger than the pipe
		rest := want
		for i := 0; len(rest) > 0; i++ {
			k := min(len(rest), 1+(i*104729)%(300<<10))
			n, err := pw.Write(rest[:k])
			if err != nil || n != k {
				errc <- errors.Join(err, errors.New("short write"))
				return
			}
			rest = rest[k:]
		}
		errc <- w.Close()
	}()
	got, err := io.ReadAll(pr)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes that differ from the %d written", len(got), len(want))
	}
}

// TestWriteToClosedPipe gets EPIPE, not a dead process: Go ignores
// SIGPIPE for descriptors other than stdout and stderr.
func TestWriteToClosedPipe(t *testing.T) {
	r, w := pipe(t)
	r.Close()
	n, err := NewWriter(w).Write([]byte("anyone there?"))
	if n != 0 || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write = %d, %v; want 0, EPIPE", n, err)
	}
}

// TestCloseWakesABlockedRead: closing the descriptor from another
// goroutine ends a Read that waits in the poller, as it does for net.Conn.
func TestCloseWakesABlockedRead(t *testing.T) {
	client, server := tcpPair(t)
	pr := NewReader(server)
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := pr.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := pr.Read(buf)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it wait in the poller
	server.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the blocked Read")
	}
}

// TestDeadline: the connection's read deadline still applies.
func TestDeadline(t *testing.T) {
	_, server := tcpPair(t)
	_ = server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := NewReader(server).Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
}

// TestEOFWhenTheWriterCloses: a pipe whose write end closed reads io.EOF.
func TestEOFWhenTheWriterCloses(t *testing.T) {
	r, w := pipe(t)
	w.Close()
	if _, err := NewReader(r).Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("Read = %v, want io.EOF", err)
	}
}

// TestRefusesBlockingDescriptors: a raw call on a descriptor in blocking
// mode would hold a thread unseen by the scheduler, so there is no Reader
// or Writer for one.
func TestRefusesBlockingDescriptors(t *testing.T) {
	r, w := pipe(t)
	_ = r.Fd() // puts it in blocking mode
	_ = w.Fd()
	if NewReader(r) != nil || NewWriter(w) != nil {
		t.Error("got a Reader or Writer for a pipe in blocking mode")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "regular"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if NewReader(f) != nil || NewWriter(f) != nil {
		t.Error("got a Reader or Writer for a regular file")
	}
}

// TestForFallsBack: ReaderFor and WriterFor use raw calls for a pollable
// pipe and hand back anything else unchanged.
func TestForFallsBack(t *testing.T) {
	r, w := pipe(t)
	if _, ok := ReaderFor(r).(*Reader); !ok {
		t.Error("ReaderFor(pipe) is not a raw Reader")
	}
	if _, ok := WriterFor(w).(*Writer); !ok {
		t.Error("WriterFor(pipe) is not a raw Writer")
	}
	var buf bytes.Buffer
	if got := ReaderFor(&buf); got != io.Reader(&buf) {
		t.Errorf("ReaderFor(buffer) = %T, want the buffer itself", got)
	}
	if got := WriterFor(&buf); got != io.Writer(&buf) {
		t.Errorf("WriterFor(buffer) = %T, want the buffer itself", got)
	}
}
