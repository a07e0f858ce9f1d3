package srt

import (
	"errors"
	"fmt"
	"io"
)

const (
	tsPacketSize = 188
	tsSyncByte   = 0x47
	// maxProbeBytes bounds what the MPEG-TS reader may buffer while it
	// looks for the tables (PAT/PMT) and the first audio frame.
	maxProbeBytes = 8 << 20
)

// errNotTS: the publisher sends something other than MPEG-TS.
var errNotTS = errors.New("data is not MPEG-TS (no 0x47 sync bytes 188 bytes apart)")

// tsSniffer fails the stream early unless its first bytes hold three
// MPEG-TS sync bytes 188 bytes apart. The mpegts reader would otherwise skip
// garbage forever.
type tsSniffer struct {
	r    io.Reader
	head []byte
	ok   bool
}

func (s *tsSniffer) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.ok || n == 0 {
		return n, err
	}
	s.head = append(s.head, p[:n]...)
	if len(s.head) < 3*tsPacketSize {
		return n, err
	}
	for off := 0; off+2*tsPacketSize < len(s.head) && off < tsPacketSize; off++ {
		if s.head[off] == tsSyncByte && s.head[off+tsPacketSize] == tsSyncByte && s.head[off+2*tsPacketSize] == tsSyncByte {
			s.ok, s.head = true, nil
			return n, err
		}
	}
	return 0, errNotTS
}

// probeLimit fails the stream if more than limit bytes are read before
// done is called.
type probeLimit struct {
	r     io.Reader
	limit int
	read  int
	off   bool
}

func (l *probeLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if !l.off {
		l.read += n
		if l.read > l.limit {
			return 0, fmt.Errorf("no MPEG-TS program table (PMT) and first audio frame in the first %d bytes", l.limit)
		}
	}
	return n, err
}

func (l *probeLimit) done() { l.off = true }
