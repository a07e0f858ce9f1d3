package transcode

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// writeTestTS muxes video access units of growing size (up to several TS
// packets each) and AAC frames with mediacommon's writer, an independent
// implementation, and returns the stream and what was written.
func writeTestTS(t testing.TB) ([]byte, [][]byte, []int64) {
	t.Helper()
	var buf bytes.Buffer
	v := &mpegts.Track{Codec: &mcodecs.H264{}}
	a := &mpegts.Track{Codec: &mcodecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{Type: 2, SampleRate: 48000, ChannelConfig: 2}}}
	w := &mpegts.Writer{W: &buf, Tracks: []*mpegts.Track{v, a}}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	var pts []int64
	for i := 0; i < 40; i++ {
		idr := bytes.Repeat([]byte{byte(i)}, 100+i*997)
		idr[0] = 0x65 // IDR slice NAL header
		p := int64(900000 + i*3000)
		if err := w.WriteH264(v, p+6000, p, [][]byte{idr}); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMPEG4Audio(a, p, [][]byte{bytes.Repeat([]byte{0xaa, byte(i)}, 150)}); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, idr)
		pts = append(pts, p)
	}
	return buf.Bytes(), frames, pts
}

func TestTSDemuxerReadsWhatAnotherMuxerWrote(t *testing.T) {
	ts, frames, pts := writeTestTS(t)
	d := newTSDemuxer(bytes.NewReader(ts))
	types, err := d.readStreams()
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != 2 || types[0] != streamTypeH264 || types[1] != streamTypeAAC {
		t.Fatalf("stream types %x", types)
	}
	var video, audio int
	for {
		p, err := d.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch p.stream {
		case 0:
			var au h264.AnnexB
			if err := au.Unmarshal(p.data); err != nil {
				t.Fatal(err)
			}
			// The writer prepends an access unit delimiter.
			if len(au) != 2 || !bytes.Equal(au[1], frames[video]) {
				t.Fatalf("video %d: %d NAL units, payload equal %v", video, len(au), len(au) == 2 && bytes.Equal(au[1], frames[video]))
			}
			if p.dts != pts[video] || p.pts != pts[video]+6000 {
				t.Errorf("video %d: pts %d dts %d, want %d %d", video, p.pts, p.dts, pts[video]+6000, pts[video])
			}
			video++
		case 1:
			var pkts mpeg4audio.ADTSPackets
			if err := pkts.Unmarshal(p.data); err != nil {
				t.Fatal(err)
			}
			if len(pkts) != 1 || len(pkts[0].AU) != 300 || pkts[0].SampleRate != 48000 || p.pts != p.dts {
				t.Errorf("audio %d: %d packets, pts %d dts %d", audio, len(pkts), p.pts, p.dts)
			}
			audio++
		}
	}
	if video != len(frames) || audio != len(frames) {
		t.Errorf("read %d video and %d audio PES, wrote %d of each", video, audio, len(frames))
	}
}

func TestTSDemuxerRejectsGarbage(t *testing.T) {
	ts, _, _ := writeTestTS(t)
	lostSync := append([]byte(nil), ts...)
	lostSync[188*5] = 0x00
	for name, in := range map[string][]byte{
		"empty":     nil,
		"not TS":    bytes.Repeat([]byte("garbage!"), 100),
		"lost sync": lostSync,
	} {
		t.Run(name, func(t *testing.T) {
			d := newTSDemuxer(bytes.NewReader(in))
			var err error
			if _, err = d.readStreams(); err == nil {
				for err == nil {
					_, err = d.next()
				}
			}
			if errors.Is(err, io.EOF) && name != "empty" {
				t.Errorf("read to the end without an error")
			}
		})
	}
}

// The demuxer reads untrusted bytes only from ffmpeg, but must never panic.
func FuzzTSDemuxer(f *testing.F) {
	ts, _, _ := writeTestTS(f)
	f.Add(ts[:188*20])
	f.Fuzz(func(t *testing.T, b []byte) {
		d := newTSDemuxer(bytes.NewReader(b))
		if _, err := d.readStreams(); err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			if _, err := d.next(); err != nil {
				return
			}
		}
	})
}

// BenchmarkDemux compares this demuxer with mediacommon's general one on the
// same stream (40 video access units of 0.1–39 kB and 40 AAC frames).
func BenchmarkDemux(b *testing.B) {
	ts, _, _ := writeTestTS(b)
	b.Run("tsDemuxer", func(b *testing.B) {
		b.SetBytes(int64(len(ts)))
		for b.Loop() {
			d := newTSDemuxer(bytes.NewReader(ts))
			if _, err := d.readStreams(); err != nil {
				b.Fatal(err)
			}
			for {
				p, err := d.next()
				if err != nil {
					break
				}
				// The codec-level parsing mediacommon's reader does too.
				if p.stream == 0 {
					var au h264.AnnexB
					_ = au.Unmarshal(p.data)
				} else {
					var pkts mpeg4audio.ADTSPackets
					_ = pkts.Unmarshal(p.data)
				}
			}
		}
	})
	b.Run("mediacommon", func(b *testing.B) {
		b.SetBytes(int64(len(ts)))
		for b.Loop() {
			r := &mpegts.Reader{R: bytes.NewReader(ts)}
			if err := r.Initialize(); err != nil {
				b.Fatal(err)
			}
			for _, tr := range r.Tracks() {
				switch tr.Codec.(type) {
				case *mcodecs.H264:
					r.OnDataH264(tr, func(int64, int64, [][]byte) error { return nil })
				case *mcodecs.MPEG4Audio:
					r.OnDataMPEG4Audio(tr, func(int64, [][]byte) error { return nil })
				}
			}
			for r.Read() == nil {
			}
		}
	})
}

// TestTSDemuxerKeepsReturnedPackets: PES packets share buffers, so one the
// caller kept must not change while later ones are reassembled, nor when
// the caller appends to it. The stream has 40 frames growing to ~39 KB, so
// buffers fill up and frames move to new ones mid-packet.
func TestTSDemuxerKeepsReturnedPackets(t *testing.T) {
	ts, frames, _ := writeTestTS(t)
	psi := 0 // the PAT and PMT before the first PES
	for ; ; psi++ {
		pkt := ts[psi*188 : (psi+1)*188]
		off := 4
		if pkt[3]&0x20 != 0 {
			off += 1 + int(pkt[4])
		}
		if pkt[1]&0x40 != 0 && bytes.HasPrefix(pkt[off:], []byte{0, 0, 1}) {
			break
		}
	}
	ts = append(ts, ts[188*psi:]...) // the frames again
	frames = append(frames, frames...)
	d := newTSDemuxer(bytes.NewReader(ts))
	if _, err := d.readStreams(); err != nil {
		t.Fatal(err)
	}
	var kept, audio [][]byte
	for {
		p, err := d.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_ = append(p.data, 0xff, 0xff, 0xff, 0xff) // must not reach the next packet
		if p.stream == 0 {
			kept = append(kept, p.data)
		} else {
			audio = append(audio, p.data)
		}
	}
	if len(kept) != len(frames) {
		t.Fatalf("read %d video PES, want %d", len(kept), len(frames))
	}
	for i, b := range kept {
		var au h264.AnnexB
		if err := au.Unmarshal(b); err != nil {
			t.Fatalf("video %d: %v", i, err)
		}
		if len(au) != 2 || !bytes.Equal(au[1], frames[i]) {
			t.Fatalf("video %d changed after it was returned", i)
		}
	}
	for i, b := range audio {
		var pkts mpeg4audio.ADTSPackets
		if err := pkts.Unmarshal(b); err != nil || len(pkts) != 1 || pkts[0].AU[1] != byte(i%40) {
			t.Fatalf("audio %d changed after it was returned (%v)", i, err)
		}
	}
}
