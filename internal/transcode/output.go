package transcode

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

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

	// rebase (file runs) shifts every unit by base, the PTS of the first
	// rendition's first unit, so that the output starts at 0 whatever
	// offset ffmpeg's muxer added.
	rebase bool
	base   time.Duration
}

type pendingUnit struct {
	rendition int
	unit      *media.Unit
}

// maxPending bounds the units held while waiting for parameters (~10 s).
const maxPending = 2000

func (r *tsReader) run(in io.Reader) error {
	d := newTSDemuxer(in)
	types, err := d.readStreams()
	if err != nil {
		return fmt.Errorf("reading transcoder output: %w", err)
	}
	if len(types) != len(r.plan.Renditions) {
		return fmt.Errorf("transcoder output has %d tracks, want %d", len(types), len(r.plan.Renditions))
	}
	r.tracks = make([]*media.Track, len(types))
	codecs := make([]media.Codec, len(types))
	for i, st := range types {
		switch st {
		case streamTypeH264:
			codecs[i] = media.H264
		case streamTypeH265:
			codecs[i] = media.H265
		case streamTypeAAC:
			codecs[i] = media.AAC
		default:
			return fmt.Errorf("rendition %s: unexpected transcoder output stream type 0x%02x", r.plan.Renditions[i].Name, st)
		}
		if want := r.plan.Renditions[i].Track.Codec; want != codecs[i] {
			return fmt.Errorf("rendition %s: transcoder output is %s, want %s", r.plan.Renditions[i].Name, codecs[i], want)
		}
	}
	var clock tsClock // one clock for all tracks keeps them aligned
	toSession := func(ts int64) time.Duration {
		ts = clock.unwrap(ts)
		return time.Duration(ts/90000)*time.Second + time.Duration(ts%90000)*time.Second/90000 - tsOffset
	}
	for {
		p, err := d.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading transcoder output: %w", err)
		}
		i := p.stream
		name := r.plan.Renditions[i].Name
		switch codec := codecs[i]; codec {
		case media.H264, media.H265:
			var au h264.AnnexB // Annex B framing is the same for H.265
			if err := au.Unmarshal(p.data); err != nil {
				return fmt.Errorf("rendition %s: %w", name, err)
			}
			if len(au) > 0 && isAUD(codec, au[0]) {
				au = au[1:]
			}
			if len(au) == 0 {
				continue
			}
			u := &media.Unit{PTS: toSession(p.pts), DTS: toSession(p.dts), Key: media.IsRandomAccess(codec, au), NALUs: au}
			if r.tracks[i] == nil && u.Key {
				t, err := media.VideoTrack(codec, au)
				if err != nil {
					return fmt.Errorf("rendition %s: %w", name, err)
				}
				r.setTrack(i, t)
			}
			if err := r.emit(i, u); err != nil {
				return err
			}
		case media.AAC:
			var pkts mpeg4audio.ADTSPackets
			if err := pkts.Unmarshal(p.data); err != nil {
				return fmt.Errorf("rendition %s: ADTS: %w", name, err)
			}
			if len(pkts) == 0 {
				continue
			}
			if r.tracks[i] == nil {
				t, err := aacTrack(pkts[0])
				if err != nil {
					return fmt.Errorf("rendition %s: %w", name, err)
				}
				r.setTrack(i, t)
			}
			frame := 1024 * time.Second / time.Duration(r.tracks[i].SampleRate)
			t := toSession(p.pts)
			for j, pkt := range pkts {
				pts := t + time.Duration(j)*frame
				if err := r.emit(i, &media.Unit{PTS: pts, DTS: pts, Key: true, Data: pkt.AU}); err != nil {
					return err
				}
			}
		}
	}
}

func isAUD(codec media.Codec, nalu []byte) bool {
	if len(nalu) == 0 {
		return false
	}
	if codec == media.H265 {
		return h265.NALUType((nalu[0]>>1)&0x3f) == h265.NALUType_AUD_NUT
	}
	return h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter
}

// aacTrack describes an AAC track from its first ADTS header.
func aacTrack(pkt *mpeg4audio.ADTSPacket) (*media.Track, error) {
	channels, err := aacChannels(pkt.ChannelConfig)
	if err != nil {
		return nil, err
	}
	conf := mpeg4audio.AudioSpecificConfig{
		Type:          pkt.Type,
		SampleRate:    pkt.SampleRate,
		ChannelConfig: pkt.ChannelConfig,
	}
	b, err := conf.Marshal()
	if err != nil {
		return nil, fmt.Errorf("AAC config: %w", err)
	}
	return &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: pkt.SampleRate, Channels: channels, AudioConfig: b}, nil
}

// aacChannels is the channel count of an MPEG-4 audio channel
// configuration (ISO 14496-3 table 1.19). ffmpeg's AAC encoder never writes
// 0 (layout in a program config element), which Osprey does not read.
func aacChannels(conf uint8) (int, error) {
	switch {
	case conf >= 1 && conf <= 6:
		return int(conf), nil
	case conf == 7:
		return 8, nil
	}
	return 0, fmt.Errorf("AAC channel configuration %d is not supported", conf)
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
		if r.rebase {
			u.PTS -= r.base
			u.DTS -= r.base
		}
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
	if r.rebase {
		for _, p := range r.pending {
			if p.rendition == 0 {
				r.base = p.unit.PTS
				break
			}
		}
	}
	for _, p := range r.pending {
		if r.rebase {
			p.unit.PTS -= r.base
			p.unit.DTS -= r.base
		}
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
