package cmaf

import (
	"encoding/binary"
	"time"
)

// prft flags (ISO/IEC 14496-12 8.16.5.3): what the wall-clock time of a
// ProducerReferenceTimeBox stands for. DASH's ProducerReferenceTime@type
// "encoder" is flags 0 and "captured" is flags 24 (dash.js maps them so
// when it reads an in-band prft).
const (
	// PrftEncoderInput: the instant the frame was input to the encoder.
	PrftEncoderInput uint32 = 0
	// PrftCaptured: the instant the frame was captured.
	PrftCaptured uint32 = 24
)

// prftSize is a version 1 prft box: header, version and flags,
// reference_track_ID, 64-bit ntp_timestamp, 64-bit media_time.
const prftSize = 8 + 4 + 4 + 8 + 8

// ntpEpochOffset is the number of seconds from the NTP epoch (1900) to the
// Unix epoch (1970).
const ntpEpochOffset = 2208988800

// ProducerTime is the wall clock the prft boxes of a fragment state. A
// presentation time t in the track timescale is the instant
// Epoch + t/Timescale: with Osprey's epoch-locked media time, Epoch is the
// Unix epoch and the instant is when the frame reached Osprey's ingest.
type ProducerTime struct {
	Epoch     time.Time
	Timescale uint32
	// Flags is PrftEncoderInput (Osprey's media time is the frame's arrival
	// at ingest, which is the transcoder's input) or PrftCaptured.
	Flags uint32
}

// SetProducerTime makes every chunk that Chunk writes, and the segment
// that Encode writes in one piece, carry a ProducerReferenceTimeBox (prft,
// version 1, reference track 1) between styp and moof: its media_time is
// the presentation time of the first sample of the moof that follows and
// its ntp_timestamp is that time on p's clock. nil (the default) writes
// none, and the output is what it was before prft boxes existed. A prft in
// every chunk lets a player that joins at any chunk (an LL-HLS part, a DASH
// chunk) measure its latency, for 32 bytes a chunk.
//
// It lasts across Reset. Set it before Reset (or NewFragment's first
// samples) so that the room Reset keeps for headers includes the box;
// otherwise Encode copies the payload once to make room.
func (f *Fragment) SetProducerTime(p *ProducerTime) {
	if p != nil && p.Timescale == 0 {
		p = nil
	}
	f.producer = p
}

// prftSize is the size of the prft box written before each moof.
func (f *Fragment) prftSize() int {
	if f.producer == nil {
		return 0
	}
	return prftSize
}

// appendPrft appends the prft box for a moof whose first sample is decoded
// at decodeTime with composition offset cto: media_time is its
// presentation time (the instant prft's flags describe is a frame's, and
// ISO/IEC 14496-12 names it by presentation time).
func (f *Fragment) appendPrft(b []byte, decodeTime uint64, cto int32) []byte {
	p := f.producer
	if p == nil {
		return b
	}
	media := decodeTime
	if cto < 0 && uint64(-int64(cto)) > media {
		media = 0
	} else {
		media = uint64(int64(media) + int64(cto))
	}
	b = appendBox(b, prftSize, "prft")
	b = binary.BigEndian.AppendUint32(b, 1<<24|p.Flags&0xffffff)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint64(b, NTPTime(p.Epoch.Add(mediaDuration(media, p.Timescale))))
	return binary.BigEndian.AppendUint64(b, media)
}

// mediaDuration converts ticks of timescale ts to a duration, rounding down
// to the nanosecond without overflowing.
func mediaDuration(t uint64, ts uint32) time.Duration {
	s := uint64(ts)
	return time.Duration(t/s)*time.Second + time.Duration(t%s*1e9/s)
}

// NTPTime is t as a 64-bit NTP timestamp (RFC 5905): seconds since
// 1900-01-01 in the high 32 bits, the fraction of a second in the low 32
// bits (rounded down). The seconds wrap in February 2036 (NTP era 1), as
// the format does.
func NTPTime(t time.Time) uint64 {
	sec := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}
