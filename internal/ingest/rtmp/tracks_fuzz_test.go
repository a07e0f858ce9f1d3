package rtmp

import (
	"bytes"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
	"github.com/ospreyvideo/osprey/internal/media"
)

// streamConn is a gortmplib.Conn reading messages from a recorded RTMP
// chunk stream (what follows the publish command) and dropping writes.
type streamConn struct{ r *message.Reader }

func newStreamConn(data []byte) *streamConn {
	br := bytecounter.NewReader(bytes.NewReader(data))
	// A real connection answers the acknowledgements a window size asks
	// for; without a callback gortmplib dereferences nil (the fuzzer found
	// it: a stream that sets a window size and then sends enough bytes).
	ack := func(uint32) error { return nil }
	return &streamConn{r: message.NewReader(br, br, ack)}
}

func (c *streamConn) BytesReceived() uint64          { return 0 }
func (c *streamConn) BytesSent() uint64              { return 0 }
func (c *streamConn) Read() (message.Message, error) { return c.r.Read() }
func (c *streamConn) Write(message.Message) error    { return nil }

// recordConn is a gortmplib.Conn that records what a Writer sends as an
// RTMP chunk stream.
type recordConn struct {
	buf bytes.Buffer
	w   *message.Writer
}

func newRecordConn() *recordConn {
	c := &recordConn{}
	c.w = message.NewWriter(&c.buf, bytecounter.NewWriter(&c.buf), false)
	return c
}

func (c *recordConn) BytesReceived() uint64          { return 0 }
func (c *recordConn) BytesSent() uint64              { return 0 }
func (c *recordConn) Read() (message.Message, error) { return nil, io.EOF }
func (c *recordConn) Write(m message.Message) error  { return c.w.Write(m) }

// recordClip returns the chunk stream a publisher of clip sends after its
// publish command, with the video (and AAC or Opus audio) tracks given.
func recordClip(t testing.TB, clip *ingesttest.Clip, video, audio *gortmplib.Track, samples int) []byte {
	t.Helper()
	c := newRecordConn()
	tracks := []*gortmplib.Track{video}
	if audio != nil {
		tracks = append(tracks, audio)
	}
	w := &gortmplib.Writer{Conn: c, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	for _, s := range clip.Samples[:min(samples, len(clip.Samples))] {
		var err error
		switch {
		case s.Video && clip.Codec == media.H265:
			err = w.WriteH265(video, s.PTS, s.DTS, s.AU)
		case s.Video:
			err = w.WriteH264(video, s.PTS, s.DTS, s.AU)
		case audio == nil:
		case isAAC(audio):
			err = w.WriteMPEG4Audio(audio, s.PTS, s.Frame)
		default:
			err = w.WriteOpus(audio, s.PTS, []byte{0xfc, 0xff, 0xfe}) // a 20 ms Opus packet
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return c.buf.Bytes()
}

func isAAC(t *gortmplib.Track) bool { _, ok := t.Codec.(*codecs.MPEG4Audio); return ok }

// Whatever chunk stream follows an accepted publish command (message
// headers, FLV and Enhanced RTMP tags, sequence headers with any codec
// configuration), the track detection, the mapping to media tracks and the
// Feed never panic, and the publication gets what the contract promises.
func FuzzPublishStream(f *testing.F) {
	h264 := ingesttest.H264Clip(f)
	h265 := ingesttest.H265Clip(f)
	f.Add(recordClip(f, h264, &gortmplib.Track{Codec: &codecs.H264{SPS: h264.SPS, PPS: h264.PPS}},
		&gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: h264.Audio}}, 60))
	f.Add(recordClip(f, h265, &gortmplib.Track{Codec: &codecs.H265{VPS: h265.VPS, SPS: h265.SPS, PPS: h265.PPS}}, nil, 30))
	f.Add(recordClip(f, h264, &gortmplib.Track{Codec: &codecs.H264{SPS: h264.SPS, PPS: h264.PPS}},
		&gortmplib.Track{Codec: &codecs.Opus{IDHeader: &opus.IDHeader{Version: 1, ChannelCount: 2, PreSkip: 312, InputSampleRate: 48000}}}, 40))
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := publishStream(data, log); err != nil {
			t.Fatal(err)
		}
	})
}

// publishStream runs a recorded chunk stream through a session's reading
// path and returns the first broken promise of the publication contract.
func publishStream(data []byte, log *slog.Logger) error {
	pub := &ingesttest.Contract{}
	ss := &session{pub: pub, log: log}
	mc := &msgConn{sc: newStreamConn(data), log: log}
	r := &gortmplib.Reader{Conn: mc}
	if err := r.Initialize(); err != nil {
		return pub.Err()
	}
	if err := ss.setup(r, mc); err != nil {
		return pub.Err()
	}
	if err := ss.feed.TryStart(); err != nil {
		return pub.Err()
	}
	for ss.writeErr == nil && r.Read() == nil {
	}
	return pub.Err()
}

// The seeds reach the publication, so the target exercises the whole path.
func TestPublishStreamSeedsDeliver(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	data := recordClip(t, clip, &gortmplib.Track{Codec: &codecs.H264{SPS: clip.SPS, PPS: clip.PPS}},
		&gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: clip.Audio}}, len(clip.Samples))
	log := slog.New(slog.DiscardHandler)
	pub := &ingesttest.Contract{}
	ss := &session{pub: pub, log: log}
	mc := &msgConn{sc: newStreamConn(data), log: log}
	r := &gortmplib.Reader{Conn: mc}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	if err := ss.setup(r, mc); err != nil {
		t.Fatal(err)
	}
	if err := ss.feed.TryStart(); err != nil {
		t.Fatal(err)
	}
	for r.Read() == nil {
	}
	if err := pub.Err(); err != nil {
		t.Fatal(err)
	}
	// the last units stay in gortmplib's reordering; nearly all arrive
	if pub.Units < len(clip.Samples)-5 {
		t.Errorf("%d units of %d reached the publication", pub.Units, len(clip.Samples))
	}
}

// rtmpURL mirrors gortmplib's joinURL (unexported, server_conn.go in
// v1.0.2): the URL a ServerConn builds from the connect command's tcUrl
// and the publish command's stream name.
func rtmpURL(tcURL, name string) (*url.URL, error) {
	if name != "" && name[0] != '?' {
		tcURL += "/" + name
	}
	return url.Parse(tcURL)
}

// Whatever tcUrl and stream name a publisher sends, streamKey never panics
// and returns either an error or a non-empty key of at most maxKeyLen
// bytes, found in the URL's path right after /live/.
func FuzzStreamKey(f *testing.F) {
	f.Add("rtmp://host/live", testKey)
	f.Add("rtmp://host:1935/live", testKey+"?token=x")
	f.Add("rtmp://host/live/"+testKey, "")
	f.Add("rtmp://[::1]:1935/live", "%2e%2e/x")
	f.Add("rtmp://host/app", "a/b")
	f.Add("rtmp://host/live", strings.Repeat("k", 300))
	f.Add("rtmp://host/live?x=1", "?y")
	f.Fuzz(func(t *testing.T, tcURL, name string) {
		u, err := rtmpURL(tcURL, name)
		if err != nil {
			return // gortmplib refuses the publish before Osprey sees it
		}
		key, err := streamKey(u)
		if err != nil {
			if key != "" {
				t.Fatalf("key %q returned with error %v", key, err)
			}
			return
		}
		if key == "" || len(key) > maxKeyLen {
			t.Fatalf("key of %d bytes accepted", len(key))
		}
		if p := strings.TrimPrefix(u.Path, "/"); p != appName+"/"+key {
			t.Fatalf("key %q does not follow /%s/ in path %q", key, appName, u.Path)
		}
	})
}
