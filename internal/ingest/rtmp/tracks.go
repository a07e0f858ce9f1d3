package rtmp

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/media"
)

// appName is the only RTMP application Osprey accepts.
const appName = "live"

// maxKeyLen bounds the stream keys passed to the handler.
const maxKeyLen = 256

// streamKey extracts the key from a publish URL, rtmp://host/live/{key}
// with any query string already split off by url.Parse.
func streamKey(u *url.URL) (string, error) {
	if u == nil {
		return "", fmt.Errorf("missing URL")
	}
	app, key, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	switch {
	case app != appName:
		return "", fmt.Errorf("unknown application %q: publish to rtmp://HOST/%s/{stream_key}", truncate(app, 32), appName)
	case key == "":
		return "", fmt.Errorf("missing stream key: publish to rtmp://HOST/%s/{stream_key}", appName)
	case len(key) > maxKeyLen:
		return "", fmt.Errorf("stream key longer than %d bytes", maxKeyLen)
	}
	return key, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// setup maps the tracks gortmplib detected to media tracks, creates the
// feed and routes the reader's callbacks to it. Only the first video and
// first audio track are kept; extra ones are read and ignored.
func (ss *session) setup(r *gortmplib.Reader, mc *msgConn) error {
	var tracks []*media.Track
	var haveVideo, haveAudio bool
	type route struct {
		t   *gortmplib.Track
		idx int // -1: ignored
	}
	var routes []route
	for _, t := range r.Tracks() {
		mt, err := mediaTrack(t)
		if err != nil {
			return err
		}
		isVideo := mt.Kind == media.Video
		if (isVideo && haveVideo) || (!isVideo && haveAudio) {
			ss.log.Info("ignoring extra track", "track", mt.Codec)
			routes = append(routes, route{t, -1})
			continue
		}
		haveVideo = haveVideo || isVideo
		haveAudio = haveAudio || !isVideo
		routes = append(routes, route{t, len(tracks)})
		tracks = append(tracks, mt)
	}
	mc.dropVideo, mc.dropAudio = !haveVideo, !haveAudio

	ss.feed = ingest.NewFeed(ss.pub, tracks)
	for _, rt := range routes {
		ss.route(r, rt.t, rt.idx)
	}
	return nil
}

// route registers the reader callback of t, feeding track idx (or nothing
// when idx < 0; the Reader needs a callback for every track it announced).
func (ss *session) route(r *gortmplib.Reader, t *gortmplib.Track, idx int) {
	video := func(pts, dts time.Duration, au [][]byte) {
		if idx >= 0 && ss.writeErr == nil {
			ss.writeErr = ss.feed.WriteVideo(idx, pts, dts, au)
		}
	}
	audio := func(pts time.Duration, frame []byte) {
		if idx >= 0 && ss.writeErr == nil {
			ss.writeErr = ss.feed.WriteAudio(idx, pts, frame)
		}
	}
	switch t.Codec.(type) {
	case *codecs.H264:
		r.OnDataH264(t, video)
	case *codecs.H265:
		r.OnDataH265(t, video)
	case *codecs.MPEG4Audio:
		r.OnDataMPEG4Audio(t, audio)
	case *codecs.Opus:
		r.OnDataOpus(t, audio)
	}
}

// mediaTrack maps a gortmplib track to a media track, or refuses its codec.
func mediaTrack(t *gortmplib.Track) (*media.Track, error) {
	switch c := t.Codec.(type) {
	case *codecs.H264:
		return &media.Track{Kind: media.Video, Codec: media.H264, SPS: c.SPS, PPS: c.PPS}, nil
	case *codecs.H265:
		return &media.Track{Kind: media.Video, Codec: media.H265, VPS: c.VPS, SPS: c.SPS, PPS: c.PPS}, nil
	case *codecs.MPEG4Audio:
		return ingest.AACTrack(c.Config)
	case *codecs.Opus:
		channels := 2
		if c.IDHeader != nil {
			channels = int(c.IDHeader.ChannelCount)
		}
		return ingest.OpusTrack(channels), nil
	}
	return nil, fmt.Errorf("%w: %s; Osprey takes H.264 or H.265 video and AAC or Opus audio",
		ingest.ErrUnsupported, codecName(t.Codec))
}

func codecName(c codecs.Codec) string {
	switch c.(type) {
	case *codecs.AV1:
		return "AV1 video"
	case *codecs.VP9:
		return "VP9 video"
	case *codecs.MPEG1Audio:
		return "MP3 audio"
	case *codecs.AC3:
		return "AC-3 audio"
	case *codecs.FLAC:
		return "FLAC audio"
	case *codecs.G711:
		return "G.711 audio"
	case *codecs.LPCM:
		return "PCM audio"
	}
	return fmt.Sprintf("codec %T", c)
}

// describe lists tracks for logs, e.g. [h264 1280x720 aac 48000Hz 2ch].
func describe(tracks []*media.Track) []string {
	out := make([]string, len(tracks))
	for i, t := range tracks {
		out[i] = t.String()
	}
	return out
}
