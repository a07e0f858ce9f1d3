// Package timeline converts between the packager's clocks: instants since
// the Unix epoch, media ticks in a track's timescale, and durations.
//
// Media time is epoch-locked: a track's decode time t in timescale ts is
// the instant t/ts seconds after the Unix epoch, so the program date time of
// a sample is the Unix epoch plus its media time, in HLS and in DASH alike.
package timeline

import "time"

// TicksAt converts an instant (nanoseconds since the Unix epoch) to ticks
// of timescale ts, rounding to the nearest tick without overflowing.
// Instants before the epoch count as the epoch.
func TicksAt(ns int64, ts uint32) uint64 {
	if ns < 0 {
		ns = 0
	}
	sec, rem := ns/1e9, ns%1e9
	return uint64(sec)*uint64(ts) + uint64((rem*int64(ts)+5e8)/1e9)
}

// SinceEpoch converts ticks of timescale ts to the duration since the Unix
// epoch (rounding down to the nanosecond).
func SinceEpoch(t uint64, ts uint32) time.Duration {
	s := uint64(ts)
	return time.Duration(t/s)*time.Second + time.Duration((t%s)*1e9/s)
}

// Duration converts a tick count of timescale ts to a duration.
func Duration(d uint64, ts uint32) time.Duration { return SinceEpoch(d, ts) }

// Rescale converts ticks between timescales, rounding to the nearest tick.
func Rescale(t uint64, from, to uint32) uint64 {
	if from == to {
		return t
	}
	f, o := uint64(from), uint64(to)
	return t/f*o + (t%f*o+f/2)/f
}

// Time is the wall-clock instant of an epoch-locked media time.
func Time(t uint64, ts uint32) time.Time {
	return time.Unix(0, 0).UTC().Add(SinceEpoch(t, ts))
}
