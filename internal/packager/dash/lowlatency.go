package dash

import (
	"errors"
	"fmt"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// ProfileLowLatency is the @profiles identifier of a DASH-IF low-latency
// service offering (IOP v5 part 4, "Low-Latency Modes for DASH"), added to
// Profiles when an MPD carries LowLatency.
const ProfileLowLatency = "http://www.dashif.org/guidelines/low-latency-live-v5"

// ProducerTypeEncoder is ProducerReferenceTime@type: the wall-clock time
// is when the frame was input to the encoder. Osprey's epoch-locked media
// time is the frame's arrival at ingest, which is the transcoder's input;
// "captured" would claim the camera's clock, which Osprey does not know.
// The segments' prft boxes say the same (flags 0).
const ProducerTypeEncoder = "encoder"

// ErrLowLatency is wrapped by the errors Marshal returns for LowLatency
// values that cannot make a valid low-latency MPD.
var ErrLowLatency = errors.New("dash: invalid low-latency settings")

// LowLatency is what a dynamic MPD adds for low-latency playback of CMAF
// segments sent in chunks while they are produced (a "Low-Latency Chunked
// Adaptation Set" of the DASH-IF IOP, ISO/IEC 23009-1 Annex K and 5.12):
//
//   - MPD ServiceDescription (id 0, no Scope: every client is in scope)
//     with Latency@target/@min/@max in milliseconds, @referenceId the
//     video's ProducerReferenceTime, and PlaybackRate@min/@max when set.
//     dash.js takes its live delay from Latency@target, its catch-up
//     drift from @max and its catch-up rates from PlaybackRate.
//   - On every audio and video AdaptationSet's SegmentTemplate:
//     @availabilityTimeOffset = SegmentDuration − ChunkDuration, so that a
//     segment is announced as available once its first chunk exists, and
//     @availabilityTimeComplete="false" (the segment is still being
//     written then). dash.js switches to its low-latency mode on the
//     latter.
//   - On every audio and video AdaptationSet: ProducerReferenceTime with
//     @id the AdaptationSet's ID, @type "encoder", @presentationTime the
//     SegmentTemplate's presentationTimeOffset, @wallClockTime that media
//     time on Osprey's clock (the Unix epoch plus PTO/timescale, to the
//     millisecond), @inband when the segments carry prft boxes, and a
//     UTCTiming child identical to the MPD's (the IOP requires one).
//
// No Resync element: the IOP recommends one (SHOULD) but no player Osprey
// targets reads it (dash.js 5 does not), and its @dT/@type semantics were
// not checked against ISO/IEC 23009-1 here.
//
// A static MPD (final, VOD) ignores it: all its segments are complete.
type LowLatency struct {
	// ChunkDuration is the longest duration of a CMAF chunk (the LL-HLS
	// PART-TARGET): > 0. The longest, so that a segment is never announced
	// before its first chunk is complete.
	ChunkDuration time.Duration
	// SegmentDuration is the nominal (target) segment duration: >
	// ChunkDuration. A segment longer than it becomes available a little
	// later than its first chunk; one shorter, a little earlier, so the
	// origin must hold a request for a segment whose first chunk is not
	// yet written.
	SegmentDuration time.Duration

	// TargetLatency is the service's preferred latency behind the
	// producer clock: > 0. MinLatency and MaxLatency (0 omits them) bound
	// it: MinLatency ≤ TargetLatency ≤ MaxLatency.
	TargetLatency, MinLatency, MaxLatency time.Duration
	// MinPlaybackRate (0 < min ≤ 1) and MaxPlaybackRate (≥ 1) bound the
	// rates a player may use to reach the target latency; 0 omits one, and
	// both 0 omits PlaybackRate.
	MinPlaybackRate, MaxPlaybackRate float64

	// InbandPrft says the media segments carry prft boxes
	// (ProducerReferenceTime@inband="true").
	InbandPrft bool
}

// AvailabilityTimeOffset is the SegmentTemplate@availabilityTimeOffset of
// l: the segment duration less one chunk, rounded down to the millisecond
// (rounding down announces a segment later, never before its first chunk).
func (l *LowLatency) AvailabilityTimeOffset() time.Duration {
	return (l.SegmentDuration - l.ChunkDuration).Truncate(time.Millisecond)
}

func (l *LowLatency) validate(m *MPD) error {
	switch {
	case l.ChunkDuration <= 0:
		return fmt.Errorf("%w: chunk duration %v", ErrLowLatency, l.ChunkDuration)
	case l.SegmentDuration-l.ChunkDuration < time.Millisecond:
		return fmt.Errorf("%w: segment duration %v is not longer than the chunk duration %v", ErrLowLatency, l.SegmentDuration, l.ChunkDuration)
	case l.TargetLatency < time.Millisecond:
		return fmt.Errorf("%w: target latency %v", ErrLowLatency, l.TargetLatency)
	case l.MinLatency < 0 || l.MinLatency > l.TargetLatency:
		return fmt.Errorf("%w: minimum latency %v above the target %v", ErrLowLatency, l.MinLatency, l.TargetLatency)
	case l.MaxLatency != 0 && l.MaxLatency < l.TargetLatency:
		return fmt.Errorf("%w: maximum latency %v below the target %v", ErrLowLatency, l.MaxLatency, l.TargetLatency)
	case l.MinPlaybackRate < 0 || l.MinPlaybackRate > 1:
		return fmt.Errorf("%w: minimum playback rate %v not in (0, 1]", ErrLowLatency, l.MinPlaybackRate)
	case l.MaxPlaybackRate != 0 && l.MaxPlaybackRate < 1:
		return fmt.Errorf("%w: maximum playback rate %v below 1", ErrLowLatency, l.MaxPlaybackRate)
	case m.UTCTimingURL == "":
		return fmt.Errorf("%w: a ProducerReferenceTime needs the MPD's UTCTiming", ErrLowLatency)
	}
	return nil
}

// lowLatency adds l's elements to out, the rendering of m.
func lowLatency(out *mpd.MPD, m *MPD) error {
	l := m.LowLatency
	if err := l.validate(m); err != nil {
		return err
	}
	out.Profiles += "," + ProfileLowLatency
	// Whole milliseconds over 1000: the shortest decimal, "1.801", not
	// Seconds()'s 1.8010000000000002.
	ato := mpd.FloatInf64(float64(l.AvailabilityTimeOffset().Milliseconds()) / 1000)
	for i := range m.Periods {
		p := &m.Periods[i]
		for j := range p.AdaptationSets {
			a := &p.AdaptationSets[j]
			if a.ContentType == "text" {
				continue
			}
			o := out.Periods[i].AdaptationSets[j]
			o.SegmentTemplate.AvailabilityTimeOffset = ato
			o.SegmentTemplate.AvailabilityTimeComplete = mpd.Ptr(false)
			o.ProducerReferenceTimes = []*mpd.ProducerReferenceTimeType{{
				Id:               a.ID,
				Inband:           l.InbandPrft,
				Type:             ProducerTypeEncoder,
				WallClockTime:    wallClock(a.PresentationTimeOffset, a.Timescale).Format(wallClockFormat),
				PresentationTime: a.PresentationTimeOffset,
				UTCTiming:        mpd.NewDescriptor(UTCTimingScheme, m.UTCTimingURL, ""),
			}}
		}
	}
	lat := &mpd.LatencyType{
		ReferenceId: referenceID(m),
		Target:      mpd.Ptr(ms(l.TargetLatency)),
	}
	if l.MinLatency > 0 {
		lat.Min = mpd.Ptr(ms(l.MinLatency))
	}
	if l.MaxLatency > 0 {
		lat.Max = mpd.Ptr(ms(l.MaxLatency))
	}
	sd := &mpd.ServiceDescriptionType{Latencies: []*mpd.LatencyType{lat}}
	if l.MinPlaybackRate > 0 || l.MaxPlaybackRate > 0 {
		sd.PlaybackRates = []*mpd.PlaybackRateType{{Min: l.MinPlaybackRate, Max: l.MaxPlaybackRate}}
	}
	out.ServiceDescription = []*mpd.ServiceDescriptionType{sd}
	return nil
}

// referenceID is the ProducerReferenceTime@id the Latency refers to: the
// first video AdaptationSet's, else the first audio one's. (All say the
// same: media time is epoch-locked in every track.)
func referenceID(m *MPD) uint32 {
	var id uint32
	found := false
	for i := range m.Periods {
		for _, a := range m.Periods[i].AdaptationSets {
			switch {
			case a.ContentType == "video":
				return a.ID
			case a.ContentType != "text" && !found:
				id, found = a.ID, true
			}
		}
	}
	return id
}

// wallClockFormat is ProducerReferenceTime@wallClockTime's xs:dateTime,
// to the millisecond (what a JavaScript Date holds).
const wallClockFormat = "2006-01-02T15:04:05.000Z"

// wallClock is the instant of epoch-locked media time t in timescale ts:
// the Unix epoch plus t/ts seconds, rounded down to the nanosecond.
func wallClock(t uint64, ts uint32) time.Time {
	s := uint64(ts)
	return time.Unix(int64(t/s), int64(t%s*1e9/s)).UTC()
}

// ms is d in whole milliseconds.
func ms(d time.Duration) uint32 { return uint32(d / time.Millisecond) }
