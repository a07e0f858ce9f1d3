package transcode

import (
	"errors"
	"fmt"
	"io"
)

// MPEG-TS stream types ffmpeg writes for the renditions Osprey asks for.
const (
	streamTypeAAC  = 0x0f // ADTS
	streamTypeH264 = 0x1b
	streamTypeH265 = 0x24
)

// tsDemuxer reads the MPEG-TS that Osprey's own ffmpeg command writes: one
// program, the elementary streams in the order of the -map options. It
// reassembles PES packets and reads their timestamps; codec-level parsing
// (Annex B, ADTS) is left to the caller.
//
// It exists for speed: it parses each 188-byte packet once and copies each
// payload byte once, where a general demuxer re-parses the PES header with
// every packet it accumulates. It trusts its input no further than it must:
// a malformed stream is an error, never a panic.
type tsDemuxer struct {
	r      io.Reader
	pkt    [188]byte
	pmtPID int // -1 until the PAT is read
	es     []*tsStream
	byPID  map[uint16]*tsStream
	ready  []pes // complete, not yet returned
}

type tsStream struct {
	pid        uint16
	streamType uint8
	index      int
	pes        []byte // the PES packet being reassembled, at the free end of buf
	buf        []byte // the PES packets returned so far; its spare capacity is free
	last       int    // size of the previous PES packet
}

// pesArena is the size of the buffers PES packets are reassembled in. A
// stream's packets are laid one after the other in its buffer instead of
// each getting its own allocation, sized by guess and grown by copying: the
// demuxer allocates little more than the bytes it returns. A returned
// packet is never written again (the next starts after it), so callers may
// keep it; a buffer is freed once none of its packets is referenced.
const pesArena = 256 << 10

// begin starts reassembling a PES packet with payload.
func (s *tsStream) begin(payload []byte) {
	// Frames of a stream are of similar sizes: expect the last one's.
	if need := max(s.last+s.last/4, 4096, len(payload)); cap(s.buf)-len(s.buf) < need {
		s.buf = make([]byte, 0, max(pesArena, 2*need))
	}
	s.pes = append(s.buf[len(s.buf):len(s.buf)], payload...)
}

// add appends payload to the PES packet being reassembled, moving it to a
// new buffer when it outgrows the current one.
func (s *tsStream) add(payload []byte) {
	if n := len(s.pes) + len(payload); n > cap(s.pes) {
		b := make([]byte, 0, max(pesArena, 2*n))
		s.pes = append(b, s.pes...)
		s.buf = b
	}
	s.pes = append(s.pes, payload...)
}

// take ends the PES packet being reassembled at n bytes and returns them,
// capped so that appending to them cannot reach the next packet.
func (s *tsStream) take(n int) []byte {
	done := s.pes[:n:n]
	s.buf = s.buf[:len(s.buf)+n]
	s.pes = nil
	s.last = n
	return done
}

// pes is one reassembled PES packet.
type pes struct {
	stream   int   // index in the PMT
	pts, dts int64 // 90 kHz, 33 bits; dts = pts when absent
	data     []byte
}

func newTSDemuxer(r io.Reader) *tsDemuxer {
	return &tsDemuxer{r: r, pmtPID: -1, byPID: map[uint16]*tsStream{}}
}

// readStreams reads up to the program map and returns the stream types of
// the elementary streams, in order.
func (d *tsDemuxer) readStreams() ([]uint8, error) {
	for d.es == nil {
		payload, pid, _, err := d.readPacket()
		if err != nil {
			return nil, fmt.Errorf("reading the program map: %w", err)
		}
		switch {
		case pid == 0 && d.pmtPID < 0:
			if err := d.parsePAT(payload); err != nil {
				return nil, err
			}
		case d.pmtPID >= 0 && int(pid) == d.pmtPID:
			if err := d.parsePMT(payload); err != nil {
				return nil, err
			}
		}
	}
	types := make([]uint8, len(d.es))
	for i, s := range d.es {
		types[i] = s.streamType
	}
	return types, nil
}

// next returns the next complete PES packet; io.EOF after the last one.
func (d *tsDemuxer) next() (pes, error) {
	for len(d.ready) == 0 {
		payload, pid, start, err := d.readPacket()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return d.flush()
		}
		if err != nil {
			return pes{}, err
		}
		s := d.byPID[pid]
		if s == nil {
			continue // PAT, PMT, SDT repeats
		}
		if start {
			// The previous PES of an unbounded stream (video) ends here.
			if len(s.pes) > 0 {
				if err := d.complete(s, s.take(len(s.pes))); err != nil {
					return pes{}, err
				}
			}
			s.begin(payload)
		} else if s.pes != nil {
			s.add(payload)
		}
		// A PES with a declared length is complete as soon as it is all here.
		if n := pesLength(s.pes); n > 0 && len(s.pes) >= n {
			if err := d.complete(s, s.take(n)); err != nil {
				return pes{}, err
			}
		}
	}
	p := d.ready[0]
	d.ready = d.ready[1:]
	return p, nil
}

func (d *tsDemuxer) complete(s *tsStream, b []byte) error {
	p, err := d.parsePES(s, b)
	if err != nil {
		return err
	}
	d.ready = append(d.ready, p)
	return nil
}

// flush returns the PES packets still being reassembled at the end of the
// stream, then io.EOF.
func (d *tsDemuxer) flush() (pes, error) {
	for _, s := range d.es {
		if len(s.pes) > 0 {
			return d.parsePES(s, s.take(len(s.pes)))
		}
	}
	return pes{}, io.EOF
}

// readPacket reads one TS packet and returns its payload.
func (d *tsDemuxer) readPacket() (payload []byte, pid uint16, start bool, err error) {
	if _, err := io.ReadFull(d.r, d.pkt[:]); err != nil {
		return nil, 0, false, err
	}
	p := d.pkt[:]
	if p[0] != 0x47 {
		return nil, 0, false, errors.New("MPEG-TS: lost sync")
	}
	start = p[1]&0x40 != 0
	pid = uint16(p[1]&0x1f)<<8 | uint16(p[2])
	afc := p[3] >> 4 & 0x3
	off := 4
	if afc&0x2 != 0 {
		off += 1 + int(p[4])
	}
	if afc&0x1 == 0 || off > len(p) {
		return nil, pid, start, nil // no payload
	}
	return p[off:], pid, start, nil
}

// section returns a PSI section's bytes after the pointer field, without
// its CRC, checked to hold at least minLen bytes.
func section(payload []byte, minLen int) ([]byte, error) {
	if len(payload) < 1 || 1+int(payload[0]) > len(payload) {
		return nil, errors.New("MPEG-TS: bad pointer field")
	}
	s := payload[1+int(payload[0]):]
	if len(s) < 3 {
		return nil, errors.New("MPEG-TS: short section")
	}
	n := 3 + (int(s[1]&0x0f)<<8 | int(s[2]))
	if n > len(s) || n-4 < minLen {
		return nil, errors.New("MPEG-TS: section too short or longer than a packet")
	}
	return s[:n-4], nil // without the CRC
}

func (d *tsDemuxer) parsePAT(payload []byte) error {
	s, err := section(payload, 8)
	if err != nil {
		return fmt.Errorf("PAT: %w", err)
	}
	for i := 8; i+4 <= len(s); i += 4 {
		program := int(s[i])<<8 | int(s[i+1])
		if program != 0 {
			d.pmtPID = int(s[i+2]&0x1f)<<8 | int(s[i+3])
			return nil
		}
	}
	return errors.New("PAT: no program")
}

func (d *tsDemuxer) parsePMT(payload []byte) error {
	s, err := section(payload, 12)
	if err != nil {
		return fmt.Errorf("PMT: %w", err)
	}
	infoLen := int(s[10]&0x0f)<<8 | int(s[11])
	for i := 12 + infoLen; i+5 <= len(s); {
		st := &tsStream{streamType: s[i], pid: uint16(s[i+1]&0x1f)<<8 | uint16(s[i+2]), index: len(d.es)}
		d.es = append(d.es, st)
		d.byPID[st.pid] = st
		i += 5 + (int(s[i+3]&0x0f)<<8 | int(s[i+4]))
	}
	if len(d.es) == 0 {
		return errors.New("PMT: no elementary stream")
	}
	return nil
}

// pesLength is the total length of a PES packet whose header declares it,
// or 0 (unbounded, as for video, or header not here yet).
func pesLength(b []byte) int {
	if len(b) < 6 {
		return 0
	}
	n := int(b[4])<<8 | int(b[5])
	if n == 0 {
		return 0
	}
	return 6 + n
}

func (d *tsDemuxer) parsePES(s *tsStream, b []byte) (pes, error) {
	if len(b) < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1 {
		return pes{}, fmt.Errorf("MPEG-TS: PID %d: bad PES start", s.pid)
	}
	flags, hlen := b[7]>>6, int(b[8])
	if 9+hlen > len(b) || flags == 0 || flags == 1 || (flags == 2 && hlen < 5) || (flags == 3 && hlen < 10) {
		return pes{}, fmt.Errorf("MPEG-TS: PID %d: PES without a usable timestamp", s.pid)
	}
	p := pes{stream: s.index, pts: pesTime(b[9:])}
	p.dts = p.pts
	if flags == 3 {
		p.dts = pesTime(b[14:])
	}
	p.data = b[9+hlen:]
	return p, nil
}

// pesTime decodes a 33-bit PTS or DTS field.
func pesTime(b []byte) int64 {
	return int64(b[0]>>1&0x07)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}
