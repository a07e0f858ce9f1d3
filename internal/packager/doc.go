// Package packager packages a live session of a channel (Live): its
// renditions become CMAF segments and the HLS and DASH manifests that list
// them, all written to a storage.Store.
//
// One packager serves both formats: every rendition is cut into an init
// segment and fragmented-MP4 media segments (packager/cut, packager/cmaf),
// and the same segment list is rendered as HLS playlists and as a DASH MPD
// (packager/manifest, on packager/hls and packager/dash). The window and
// what must survive sessions (state.json) are packager/window; storage
// writes go through packager/writer. Video on demand is packager/asset,
// with the same cutter and renderers on a timeline of its own.
//
// Layout under the channel's prefix (e.g. "live/ch_abc"):
//
//	index.m3u8                    HLS multivariant playlist (stable URL)
//	manifest.mpd                  DASH MPD (stable URL)
//	s{k}/{rendition}/index.m3u8   HLS media playlist of session k
//	s{k}/{rendition}/init-{v}.mp4 CMAF init segment, version v
//	s{k}/{rendition}/{n}.m4s      CMAF media segment n
//	state.json                    counters that must survive restarts, the
//	                              deletion queue and the window last published
//	dvr.json                      with Config.DVRWindow: the DVR index, the
//	                              sessions kept and their chunks (packager/dvr)
//	s{k}/dvr/{first}.json         a DVR chunk: up to 64 consecutive segments
//
// Each session (NewLive to End: one publication) writes its media
// playlists and segments in a directory of its own, s{k}, k counting the
// channel's sessions from 1 (a session that continues one a crash
// interrupted writes in that one's directory, see Recovery). So a session's media playlists, once they
// carry EXT-X-ENDLIST, never change (RFC 8216 6.2.1): the next session
// writes new ones at new URLs. Only the multivariant playlist (which has no
// EXT-X-ENDLIST) and the MPD, the URLs viewers bookmark, move on to the
// newest session at its first publish: the MPD from static (ended) to a
// fresh dynamic MPD. Segment numbers and init versions never repeat for a
// channel either, across transcoder restarts, sessions and process
// restarts, so segment URLs can be cached as immutable.
//
// Channels packaged before session directories existed have their
// renditions straight under the prefix (state.json without next_session);
// Recover ends such a session in place, and the next session moves to s1.
//
// # Use
//
// NewLive loads state.json; Begin starts an epoch (once per transcoder
// start); WriteUnit takes the units of every rendition, interleaved roughly
// by DTS, from one goroutine; End flushes and turns the manifests into VoD
// (EXT-X-ENDLIST, static MPD); Abandon stops a session another node has
// taken over, writing nothing more. Stats reports what was published. At
// startup, and again once a crashed session's continuation grace has
// passed, Recover ends the manifests of a session a crash left live.
// With a DVR window (dvr.go, retain.go), segments are kept that long after
// their media end, and Sweep deletes what aged out when nobody packages
// the channel.
//
// Rendition.Language, Label and Default describe audio renditions, live
// or VOD: each is an EXT-X-MEDIA entry of the group "audio" (NAME is the
// Label, else the language's name, else the rendition name, "Audio N" for
// VOD; DEFAULT=YES for the Default one, else the first) and a DASH audio
// AdaptationSet with lang (and, when there are several, Role main or
// alternate). A variant's BANDWIDTH and CODECS cover the whole group.
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
// Segment n is published when every rendition has closed it and its
// objects are stored: segment objects are stored first, then state.json
// (it records the window, see Recovery), the media playlists, the MPD and
// the multivariant playlist (when it changed). A rendition that skips a
// cut (no keyframe there) lists that number as EXT-X-GAP.
//
// # Storage writes
//
// Live writes in the background (packager/writer): WriteUnit never waits on
// storage. Closed segments are queued to a writer that stores them in
// order, retrying failures with backoff; a segment is listed only once
// every object it needs (all renditions, new init segments) is stored, so
// no manifest names a missing object, and a storage outage only delays
// publishing. state.json and the manifests are written after, each newer
// write superseding an unwritten older one. A segment object not stored
// within max(30 s, Window*SegmentDuration), or dropped because a session
// holds 64 MiB of unwritten segments (the oldest go first), is listed as
// EXT-X-GAP for its rendition. End waits (bounded) for what is queued;
// Abandon drops it.
//
// # Epochs
//
// After Begin (a transcoder restart) the next segment carries
// EXT-X-DISCONTINUITY; so does a new session's first segment. An epoch's
// init segments get a new channel-wide version only if some rendition's
// init bytes changed; then the playlists repeat EXT-X-MAP and the MPD
// starts a new Period. Otherwise the Period goes on, with an explicit S@t
// after the gap. A rendition the new epoch lacks (a smaller ladder) leaves
// the multivariant playlist and the MPD; its media playlist stays as last
// written while the session is live and gets EXT-X-ENDLIST when the
// session ends (End or Recover), so no playlist of an ended session is
// left live.
//
// # Deletion
//
// A segment that leaves the window and an init version no longer
// referenced are deleted DeleteGrace later, checked at each publish. The
// previous sessions' directories (ended playlists, segments, init
// segments) are deleted DeleteGrace after the new session's first publish,
// when the multivariant playlist and the MPD stop naming them; until a new
// session publishes, the last session's ended window stays playable. The
// deletion queue is kept in state.json so it survives restarts.
//
// # Recovery
//
// Manifests are rendered from a view of the published window (segment
// records, rendition descriptions, the ladder); state.json keeps the last
// view and a live flag, set from a session's first publish until End has
// written its ended manifests, and when the session last published. If
// the process dies without End (kill -9, a lost ingest node), the
// channel's next session continues it when it starts within
// Config.ContinueGrace (default 60 s) of that last publish with the same
// renditions: it takes over the session's directory and
// window, so the media playlists and the MPD viewers keep reloading go on,
// segment numbers (the media sequence) continue from the last published
// one, and the first new segment carries EXT-X-DISCONTINUITY and starts a
// new DASH Period (a new init version). Otherwise Recover (or, failing
// that, the channel's next NewLive) renders the ended manifests from the
// view with the code End uses, so viewers see the session end with its
// last window playable; Recover leaves a session that may still be
// continued live, and Interrupted tells until when.
package packager
