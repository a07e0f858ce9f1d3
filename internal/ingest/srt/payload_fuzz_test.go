package srt

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"

	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
)

// opusTS returns a short MPEG-TS stream with H.264 video from clip and an
// Opus track.
func opusTS(t testing.TB, clip *ingesttest.Clip) []byte {
	t.Helper()
	var buf bytes.Buffer
	video := &mpegts.Track{Codec: &mcodecs.H264{}}
	audio := &mpegts.Track{Codec: &mcodecs.Opus{Desc: &substructs.OpusAudioDescriptor{ChannelConfigCode: 2}}}
	w := &mpegts.Writer{W: &buf, Tracks: []*mpegts.Track{video, audio}}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	for i, s := range clip.VideoSamples()[:6] {
		if err := w.WriteH264(video, ingesttest.ToTicks(s.PTS), ingesttest.ToTicks(s.DTS), s.AU); err != nil {
			t.Fatal(err)
		}
		packet := []byte{0xfc, 0xff, 0xfe} // 20 ms
		if err := w.WriteOpus(audio, int64(i)*3600, [][]byte{packet, packet}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// Whatever an SRT publisher sends as its payload, the MPEG-TS probe, the
// track mapping and the Feed never panic, and the publication gets what the
// contract promises (ingesttest.Contract).
func FuzzPayload(f *testing.F) {
	for _, name := range []string{"clip.ts", "hevc.ts"} {
		b, err := os.ReadFile(filepath.Join("..", "ingesttest", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 40*tsPacketSize)])
	}
	f.Add(opusTS(f, ingesttest.H264Clip(f)))
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := readPayload(data, log); err != nil {
			t.Fatal(err)
		}
	})
}

// readPayload runs data through a session's reading path (as session.run
// does, without the connection) and returns the first broken promise of
// the publication contract, or nil.
func readPayload(data []byte, log *slog.Logger) error {
	pub := &ingesttest.Contract{}
	ss := &session{pub: pub, log: log}
	probe := &probeLimit{r: &tsSniffer{r: bytes.NewReader(data)}, limit: maxProbeBytes}
	r := &mpegts.Reader{R: probe}
	if err := r.Initialize(); err != nil {
		return nil
	}
	probe.done()
	if err := ss.setup(r); err != nil {
		return pub.Err()
	}
	f := ss.feed.Load()
	if err := f.TryStart(); err != nil {
		return pub.Err()
	}
	r.OnDecodeError(func(error) { ss.errs++ })
	for r.Read() == nil {
	}
	return pub.Err()
}

// The seeds reach the publication, so the target exercises the whole path.
func TestPayloadSeedsDeliver(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	for name, data := range map[string][]byte{"opus": opusTS(t, clip)} {
		pub := &ingesttest.Contract{}
		ss := &session{pub: pub, log: slog.New(slog.DiscardHandler)}
		r := &mpegts.Reader{R: bytes.NewReader(data)}
		if err := r.Initialize(); err != nil {
			t.Fatal(err)
		}
		if err := ss.setup(r); err != nil {
			t.Fatal(err)
		}
		if err := ss.feed.Load().TryStart(); err != nil {
			t.Fatal(err)
		}
		for r.Read() == nil {
		}
		if pub.Err() != nil || pub.Units < 6 {
			t.Errorf("%s: %d units, err %v", name, pub.Units, pub.Err())
		}
		if len(pub.Tracks) != 2 || pub.Tracks[1].Channels != 2 {
			t.Errorf("%s: tracks %v, want H.264 and stereo Opus", name, pub.Tracks)
		}
	}
}
