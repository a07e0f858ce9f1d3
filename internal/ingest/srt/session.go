package srt

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	gosrt "github.com/datarhei/gosrt"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/front"
	"github.com/ospreyvideo/osprey/internal/media"
)

// session reads MPEG-TS from one accepted SRT connection into its publication.
type session struct {
	s    *Server
	fc   *front.Conn // the door's entry: idle deadline, why it was cut
	conn gosrt.Conn
	pub  ingest.Publication
	log  *slog.Logger
	born time.Time

	feed atomic.Pointer[ingest.Feed] // read by the start watchdog
	td   mpegts.TimeDecoder
	errs int // non-fatal MPEG-TS decode errors
}

// end closes the publication and logs how the session ended.
func (ss *session) end(cause error) {
	ss.pub.Close(cause)
	attrs := []any{"duration", time.Since(ss.born).Round(time.Millisecond), "decode_errors", ss.errs}
	if f := ss.feed.Load(); f != nil {
		st := f.Stats()
		attrs = append(attrs, "units", st.Delivered, "dropped", st.Dropped, "discontinuities", st.Discontinuities)
	}
	if cause == nil {
		ss.log.Info("publisher left", attrs...)
		return
	}
	ss.log.Warn("publication ended", append(attrs, "cause", cause)...)
}

// run reads the connection and returns the publication's end cause.
func (ss *session) run() error {
	cfg := ss.s.cfg
	start := time.AfterFunc(cfg.StartTimeout, func() {
		if f := ss.feed.Load(); f == nil || !f.Flowing() {
			ss.fc.Cut(fmt.Errorf("%w: no usable media (MPEG-TS tables, parameter sets, key frame) within %s",
				ingest.ErrTimeout, cfg.StartTimeout))
		}
	})
	defer start.Stop()

	// reads feed the door's idle deadline
	probe := &probeLimit{r: &tsSniffer{r: ss.fc.Watch(ss.conn)}, limit: maxProbeBytes}
	r := &mpegts.Reader{R: probe}
	if err := r.Initialize(); err != nil {
		return ss.cause(fmt.Errorf("reading MPEG-TS tables: %w", err))
	}
	probe.done()
	if err := ss.setup(r); err != nil {
		return err
	}
	f := ss.feed.Load()
	if err := f.TryStart(); err != nil {
		return err
	}
	r.OnDecodeError(func(err error) {
		ss.errs++
		if ss.errs <= 5 {
			ss.log.Debug("MPEG-TS decode error", "err", err)
		}
	})
	logged := false
	for {
		if !logged && f.Started() { // video size comes with the first in-band SPS
			ss.log.Info("publishing", "tracks", describe(f.Tracks()))
			logged = true
		}
		if err := r.Read(); err != nil {
			return ss.cause(err)
		}
	}
}

// cause turns the error that stopped the reader into the publication's end
// cause: nil when the publisher shut the connection down.
func (ss *session) cause(err error) error {
	shutdown, peerIdle := ss.s.srtLog.ended(ss.conn.SocketId())
	if c := ss.fc.Cause(); c != nil {
		return c // a deadline, a watchdog or Close cut the connection
	}
	if ss.s.isClosed() {
		return ingest.ErrServerClosed
	}
	switch {
	case errors.Is(err, errNotTS):
		return fmt.Errorf("%w: %w", ingest.ErrUnsupported, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		switch {
		case shutdown:
			return nil
		case peerIdle:
			return fmt.Errorf("%w: connection lost (no packets from the peer)", ingest.ErrTimeout)
		}
		return errors.New("connection lost")
	}
	return err
}

// setup maps the MPEG-TS tracks to media tracks and routes the reader's
// callbacks to a new feed. The first video and first audio track are kept;
// extra ones and non-media streams (KLV, subtitles, SCTE-35) are ignored.
func (ss *session) setup(r *mpegts.Reader) error {
	var tracks []*media.Track
	var routes []func(f *ingest.Feed)
	var haveVideo, haveAudio bool
	for _, t := range r.Tracks() {
		mt, err := mediaTrack(t)
		if err != nil {
			return err
		}
		if mt == nil {
			ss.log.Debug("ignoring non-media MPEG-TS stream", "pid", t.PID, "codec", fmt.Sprintf("%T", t.Codec))
			continue
		}
		isVideo := mt.Kind == media.Video
		if (isVideo && haveVideo) || (!isVideo && haveAudio) {
			ss.log.Info("ignoring extra track", "pid", t.PID, "track", mt.Codec)
			continue
		}
		haveVideo = haveVideo || isVideo
		haveAudio = haveAudio || !isVideo
		idx := len(tracks)
		tracks = append(tracks, mt)
		routes = append(routes, func(f *ingest.Feed) { ss.route(r, t, idx, f) })
	}
	if len(tracks) == 0 {
		return fmt.Errorf("%w: no H.264/H.265 video or AAC/Opus audio in the MPEG-TS program", ingest.ErrUnsupported)
	}
	f := ingest.NewFeed(ss.pub, tracks)
	for _, route := range routes {
		route(f)
	}
	ss.feed.Store(f)
	return nil
}

// route registers the reader callback of t, feeding track idx of f.
func (ss *session) route(r *mpegts.Reader, t *mpegts.Track, idx int, f *ingest.Feed) {
	switch t.Codec.(type) {
	case *mcodecs.H264:
		r.OnDataH264(t, func(pts, dts int64, au [][]byte) error {
			return f.WriteVideo(idx, ss.ts(pts), ss.ts(dts), au)
		})
	case *mcodecs.H265:
		r.OnDataH265(t, func(pts, dts int64, au [][]byte) error {
			return f.WriteVideo(idx, ss.ts(pts), ss.ts(dts), au)
		})
	case *mcodecs.MPEG4Audio:
		r.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) error {
			return f.WriteAudio(idx, ss.ts(pts), aus...)
		})
	case *mcodecs.Opus:
		r.OnDataOpus(t, func(pts int64, packets [][]byte) error {
			return f.WriteAudio(idx, ss.ts(pts), packets...)
		})
	}
}

// ts unwraps a 33-bit 90 kHz MPEG-TS timestamp and converts it to a duration.
// One decoder serves every track, so they stay on the same clock.
func (ss *session) ts(v int64) time.Duration {
	t := ss.td.Decode(v)
	return time.Duration(t/90000)*time.Second + time.Duration(t%90000)*time.Second/90000
}

// mediaTrack maps an MPEG-TS track to a media track. It returns nil for
// streams that carry no audio or video, and ErrUnsupported for audio or
// video codecs Osprey cannot carry.
func mediaTrack(t *mpegts.Track) (*media.Track, error) {
	var name string
	switch c := t.Codec.(type) {
	case *mcodecs.H264:
		return &media.Track{Kind: media.Video, Codec: media.H264}, nil
	case *mcodecs.H265:
		return &media.Track{Kind: media.Video, Codec: media.H265}, nil
	case *mcodecs.MPEG4Audio:
		return ingest.AACTrack(&c.Config)
	case *mcodecs.Opus:
		channels := 0      // OpusTrack's default: stereo
		if c.Desc != nil { // always set by the reader (from the PMT's opus_audio_descriptor)
			channels = c.Desc.ChannelCount()
		}
		return ingest.OpusTrack(channels), nil
	case *mcodecs.MPEG1Video:
		name = "MPEG-1/2 video"
	case *mcodecs.MPEG4Video:
		name = "MPEG-4 Part 2 video"
	case *mcodecs.MPEG1Audio:
		name = "MPEG-1 audio (MP2/MP3)"
	case *mcodecs.MPEG4AudioLATM:
		name = "AAC LATM audio"
	case *mcodecs.AC3:
		name = "AC-3 audio"
	case *mcodecs.EAC3:
		name = "E-AC-3 audio"
	default: // KLV, DVB subtitles, unknown stream types
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %s; Osprey takes H.264 or H.265 video and AAC or Opus audio", ingest.ErrUnsupported, name)
}

// describe lists tracks for logs, e.g. [h264 1280x720 aac 48000Hz 2ch].
func describe(tracks []*media.Track) []string {
	out := make([]string, len(tracks))
	for i, t := range tracks {
		out[i] = t.String()
	}
	return out
}
