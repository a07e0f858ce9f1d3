package transcode

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Output receives the renditions of a transcoder run.
type Output interface {
	// Begin is called at the start of every ffmpeg run, before its first
	// unit, with the renditions' complete codec parameters.
	Begin(renditions []Rendition) error
	// WriteUnit receives units of Begin's renditions, by index, from one goroutine.
	media.Sink
}

// tsReader demuxes ffmpeg's output and hands units to an Output. It holds
// units back until every rendition's codec parameters are known, so Begin
// gets complete tracks.
type tsReader struct {
	plan    Plan
	out     Output
	onTime  func(time.Duration) // reports the output position, for lag tracking
	started bool
	pending []pendingUnit
	tracks  []*media.Track // per rendition, filled as parameters arrive
	ready   int            // renditions whose parameters are known
}

type pendingUnit struct {
	rendition int
	unit      *media.Unit
}

// maxPending bounds the units held while waiting for parameters (~10 s).
const maxPending = 2000

func (r *tsReader) run(in io.Reader) error {
	rd := &mpegts.Reader{R: in}
	if err := rd.Initialize(); err != nil {
		return fmt.Errorf("reading transcoder output: %w", err)
	}
	tracks := rd.Tracks()
	if len(tracks) != len(r.plan.Renditions) {
		return fmt.Errorf("transcoder output has %d tracks, want %d", len(tracks), len(r.plan.Renditions))
	}
	r.tracks = make([]*media.Track, len(tracks))
	var clock tsClock // one clock for all tracks keeps them aligned
	toSession := func(ts int64) time.Duration {
		ts = clock.unwrap(ts)
		return time.Duration(ts/90000)*time.Second + time.Duration(ts%90000)*time.Second/90000 - tsOffset
	}
	for i, mt := range tracks {
		want := r.plan.Renditions[i].Track
		switch c := mt.Codec.(type) {
		case *mcodecs.H264, *mcodecs.H265:
			codec := media.H264
			if _, ok := c.(*mcodecs.H265); ok {
				codec = media.H265
			}
			if want.Codec != codec {
				return fmt.Errorf("rendition %s: transcoder output is %s, want %s", r.plan.Renditions[i].Name, codec, want.Codec)
			}
			onAU := func(pts, dts int64, au [][]byte) error {
				u := &media.Unit{PTS: toSession(pts), DTS: toSession(dts), Key: media.IsRandomAccess(codec, au), NALUs: au}
				if r.tracks[i] == nil && u.Key {
					t, err := media.VideoTrack(codec, au)
					if err != nil {
						return fmt.Errorf("rendition %s: %w", r.plan.Renditions[i].Name, err)
					}
					r.setTrack(i, t)
				}
				return r.emit(i, u)
			}
			if codec == media.H265 {
				rd.OnDataH265(mt, onAU)
			} else {
				rd.OnDataH264(mt, onAU)
			}
		case *mcodecs.MPEG4Audio:
			conf, err := c.Config.Marshal()
			if err != nil {
				return fmt.Errorf("rendition %s: AAC config: %w", r.plan.Renditions[i].Name, err)
			}
			r.setTrack(i, &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: c.SampleRate, Channels: c.ChannelCount, AudioConfig: conf})
			frame := time.Duration(1024) * time.Second / time.Duration(c.SampleRate)
			rd.OnDataMPEG4Audio(mt, func(pts int64, aus [][]byte) error {
				t := toSession(pts)
				for j, au := range aus {
					p := t + time.Duration(j)*frame
					if err := r.emit(i, &media.Unit{PTS: p, DTS: p, Key: true, Data: au}); err != nil {
						return err
					}
				}
				return nil
			})
		default:
			return fmt.Errorf("rendition %s: unexpected transcoder output codec %T", r.plan.Renditions[i].Name, c)
		}
	}
	for {
		if err := rd.Read(); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return fmt.Errorf("reading transcoder output: %w", err)
		}
	}
}

func (r *tsReader) setTrack(i int, t *media.Track) {
	if r.tracks[i] == nil {
		r.ready++
	}
	r.tracks[i] = t
}

func (r *tsReader) emit(i int, u *media.Unit) error {
	if r.onTime != nil {
		r.onTime(u.DTS)
	}
	if r.started {
		return r.out.WriteUnit(i, u)
	}
	if r.tracks[i] == nil {
		return nil // nothing before a rendition's first keyframe
	}
	r.pending = append(r.pending, pendingUnit{i, u})
	if r.ready < len(r.tracks) {
		if len(r.pending) > maxPending {
			return fmt.Errorf("transcoder output: no keyframe in %d units", maxPending)
		}
		return nil
	}
	rends := make([]Rendition, len(r.plan.Renditions))
	for j, rd := range r.plan.Renditions {
		rd.Track = r.tracks[j]
		rends[j] = rd
	}
	if err := r.out.Begin(rends); err != nil {
		return err
	}
	r.started = true
	for _, p := range r.pending {
		if err := r.out.WriteUnit(p.rendition, p.unit); err != nil {
			return err
		}
	}
	r.pending = nil
	return nil
}

// tsClock unwraps 33-bit MPEG-TS timestamps, keeping their absolute value.
type tsClock struct {
	started bool
	last    int64
}

func (c *tsClock) unwrap(ts int64) int64 {
	const period = int64(1) << 33
	if !c.started {
		c.started, c.last = true, ts
		return ts
	}
	d := (ts - c.last) & (period - 1)
	if d > period/2 {
		d -= period
	}
	c.last += d
	return c.last
}
