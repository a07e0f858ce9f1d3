// Package packager turns the renditions of a live session into CMAF segments
// and the HLS and DASH manifests that list them, all written to a storage.Store.
//
// One packager serves both formats: every rendition is cut into an init segment
// and fragmented-MP4 media segments (packager/cmaf), and the same segment list
// is rendered as HLS playlists (packager/hls) and as a DASH MPD (packager/dash).
//
// Layout under the channel's prefix (e.g. "live/ch_abc"):
//
//	index.m3u8                  HLS multivariant playlist
//	manifest.mpd                DASH MPD
//	{rendition}/index.m3u8      HLS media playlist
//	{rendition}/init-{v}.mp4    CMAF init segment, version v
//	{rendition}/{n}.m4s         CMAF media segment n
//	state.json                  counters that must survive restarts, the
//	                            deletion queue and the window last published
//
// Segment numbers and init versions never repeat for a channel, across
// transcoder restarts, sessions and process restarts, so segment URLs can be
// cached as immutable.
//
// # Use
//
// NewLive loads state.json; Begin starts an epoch (once per transcoder
// start); WriteUnit takes the units of every rendition, interleaved roughly
// by DTS, from one goroutine; End flushes and turns the manifests into VoD
// (EXT-X-ENDLIST, static MPD). Stats reports what was published. At
// startup, Recover ends the manifests of a session the process left live.
//
// # Timeline
//
// Media time is epoch-locked: a sample's decode time in tfdt/trun is
// sessionStart plus its session-time timestamp, counted from the Unix epoch
// in the track timescale (90 kHz video, the sample rate for audio). So
// EXT-X-PROGRAM-DATE-TIME is the Unix epoch plus the media time, and the
// dynamic MPD uses availabilityStartTime 1970-01-01T00:00:00Z. Video decode
// times are shifted by the first keyframe's PTS-DTS, so a segment's tfdt is
// its keyframe's presentation time (identical in every rung, as DASH
// SegmentTimeline needs) and B-frames get negative composition offsets
// (trun version 1). AAC frames last exactly 1024 ticks, counted from the
// first frame's PTS (re-anchored only across real gaps).
//
// # Cutting
//
// The lead (first video rendition, else the first) starts a segment at a
// keyframe at least SegmentDuration (less 5 ms) after the current segment's
// start. Every other rendition starts its segment at its first unit (a
// keyframe, for video) at or after the lead's cut; a unit that might belong
// to a cut the lead has not decided yet waits in a small per-track queue.
// Segment n is published when every rendition has closed it: segment
// objects are stored first, then state.json (it records the window, see
// Recovery), the media playlists, the MPD and the multivariant playlist
// (when it changed). A rendition that skips a cut (no keyframe there) lists
// that number as EXT-X-GAP.
//
// # Epochs
//
// After Begin (a transcoder restart) the next segment carries
// EXT-X-DISCONTINUITY; so does a new session's first segment. An epoch's
// init segments get a new channel-wide version only if some rendition's
// init bytes changed; then the playlists repeat EXT-X-MAP and the MPD
// starts a new Period. Otherwise the Period goes on, with an explicit S@t
// after the gap.
//
// # Deletion
//
// A segment that leaves the window, an init version no longer referenced
// and a previous session's objects are deleted DeleteGrace later, checked at
// each publish; the deletion queue is kept in state.json so it survives
// restarts.
//
// # Recovery
//
// Manifests are rendered from a view of the published window (segment
// records, rendition descriptions, the ladder); state.json keeps the last
// view and a live flag, set from a session's first publish until End has
// written its ended manifests. If the process dies without End, Recover
// (or, failing that, the channel's next NewLive) renders the ended
// manifests from that view with the code End uses, so viewers see the
// session end with its last window playable.
package packager
