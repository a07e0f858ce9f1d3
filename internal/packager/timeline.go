package packager

import "time"

// Media time is epoch-locked: a track's decode time t in timescale ts is
// the instant t/ts seconds after the Unix epoch, so the program date time of
// a sample is the Unix epoch plus its media time, in HLS and in DASH alike.

// ticksAt converts an instant (nanoseconds since the Unix epoch) to ticks,
// rounding to the nearest tick without overflowing.
func ticksAt(ns int64, ts uint32) uint64 {
	if ns < 0 {
		ns = 0
	}
	sec, rem := ns/1e9, ns%1e9
	return uint64(sec)*uint64(ts) + uint64((rem*int64(ts)+5e8)/1e9)
}

// sinceEpoch converts ticks to the duration since the Unix epoch.
func sinceEpoch(t uint64, ts uint32) time.Duration {
	s := uint64(ts)
	return time.Duration(t/s)*time.Second + time.Duration((t%s)*1e9/s)
}

// ticksDur converts a tick count to a duration.
func ticksDur(d uint64, ts uint32) time.Duration { return sinceEpoch(d, ts) }

// rescale converts ticks between timescales, rounding to nearest.
func rescale(t uint64, from, to uint32) uint64 {
	if from == to {
		return t
	}
	f, o := uint64(from), uint64(to)
	return t/f*o + (t%f*o+f/2)/f
}

// epochTime is the wall-clock instant of an epoch-locked media time.
func epochTime(t uint64, ts uint32) time.Time {
	return time.Unix(0, 0).UTC().Add(sinceEpoch(t, ts))
}
