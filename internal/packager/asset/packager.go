// Package asset packages a video-on-demand asset on a timeline of its
// own, starting at 0: the lead's first keyframe is media time 0 and the
// cutting grid starts there (units of other renditions before it are
// dropped). No wall clock, no window, no deletion, no state.json. Begin is
// called once (a second call is an error); WriteUnit takes the units of
// every rendition from one goroutine, roughly interleaved by DTS; each
// rendition's timestamps must increase and share one clock with the
// others. Cutting is the live packager's (package cut): the lead cuts at
// keyframes on the SegmentDuration grid (default 4 s), the others follow,
// so every rendition has the same segment numbers, from 1. Segments are
// stored as they close (init segments version 1, at the first segment);
// only a small record per segment stays in memory. A failed write fails
// WriteUnit and End.
//
// Nothing playable exists until End: it flushes the last segments, then
// writes vod.json (the records and rendition descriptions the manifests
// are rendered from, a manifest.Record), the media playlists
// (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST, no program date times), a
// static MPD (one Period at 0, SegmentTimeline with $Number$) and
// index.m3u8 last. Publish renders them again from vod.json, adding
// sidecar WebVTT subtitles: an HLS SUBTITLES group "subs" with a
// one-segment playlist per file (subs/{name}.m3u8) and a DASH text
// AdaptationSet per file. Rendering is deterministic (the MPD's
// publishTime is End's, kept in vod.json).
//
// Layout under the asset's prefix (e.g. "vod/as_abc"):
//
//	index.m3u8                  HLS multivariant playlist
//	manifest.mpd                DASH MPD (static)
//	{rendition}/index.m3u8      VOD media playlist
//	{rendition}/init-1.mp4      CMAF init segment
//	{rendition}/{n}.m4s         CMAF media segment n, from 1
//	subs/{name}.m3u8            subtitle playlist (Publish)
//	vod.json                    what the manifests are rendered from
package asset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Config tunes a Packager. Zero values take the defaults.
type Config struct {
	SegmentDuration time.Duration // target, default 4s
}

// DefaultSegmentDuration is the default VOD segment duration.
const DefaultSegmentDuration = 4 * time.Second

// ErrEnded is returned by calls after End.
var ErrEnded = errors.New("packager: VOD ended")

// storeTimeout bounds one storage call.
const storeTimeout = 15 * time.Second

// vodInitVersion is the init version of every VOD rendition.
const vodInitVersion = 1

// vodFirstSegment is the number of a VOD's first segment.
const vodFirstSegment = 1

// Packager packages one asset: the units of its renditions are cut into
// CMAF segments, stored as they close, and End writes the manifests. Its
// methods are safe for concurrent use; units are expected from one
// goroutine.
type Packager struct {
	mu     sync.Mutex
	store  storage.Store
	prefix string
	// storeCtx bounds the segment writes WriteUnit makes (media.Sink's
	// WriteUnit has no context): New's, then End's.
	storeCtx context.Context
	log      *slog.Logger
	segDur   time.Duration

	cut        *cut.Cutter
	lead       int
	publishDue bool // a segment closed since the last collect

	storeErrors int64
	storeErr    error // first failed write

	now     func() time.Time
	nextSeg uint64
	begun   bool
	ended   bool
	endErr  error

	// What End publishes: one record per segment (no media), measured per rendition.
	tracks    []manifest.Stream
	rends     map[string]*manifest.Meter
	records   []*manifest.Segment
	maxSegDur time.Duration
	inits     map[string]bool // renditions whose init segment is stored
	result    Result
}

// Result describes what End published.
type Result struct {
	Duration   time.Duration // presentation duration
	Segments   int           // segments per rendition
	Renditions []RenditionResult
}

// RenditionResult describes one published rendition.
type RenditionResult struct {
	Name, Kind           string // kind "video" or "audio"
	Codec                string // RFC 6381, e.g. "avc1.64001F", "mp4a.40.2"
	Width, Height        int
	Bitrate, PeakBitrate int // measured from segment sizes, bits/s
	Language             string
}

// New prepares packaging of one asset under prefix (e.g. "vod/as_abc").
// ctx bounds the storage writes made by WriteUnit (End takes its own).
// Nothing is read or written until units arrive.
func New(ctx context.Context, store storage.Store, prefix string, cfg Config, log *slog.Logger) (*Packager, error) {
	if store == nil {
		return nil, errors.New("packager: nil store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.SegmentDuration <= 0 {
		cfg.SegmentDuration = DefaultSegmentDuration
	}
	v := &Packager{
		store: store, prefix: prefix, storeCtx: ctx, segDur: cfg.SegmentDuration,
		log:     log.With("stage", "packager", "mode", "vod", "prefix", prefix),
		now:     time.Now,
		nextSeg: vodFirstSegment,
		rends:   map[string]*manifest.Meter{},
		inits:   map[string]bool{},
	}
	return v, nil
}

// Begin sets the asset's renditions. It is called exactly once: a VOD has
// one timeline, so a second call (a transcoder restart) is an error.
func (v *Packager) Begin(renditions []cut.Rendition) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended {
		return ErrEnded
	}
	if v.begun {
		return errors.New("packager: VOD Begin called twice")
	}
	for i, r := range renditions {
		if !manifest.ValidName(r.Name) {
			return fmt.Errorf("packager: rendition %d: invalid or duplicate name %q", i, r.Name)
		}
	}
	c, err := cut.New(cut.Config{SegmentDuration: v.segDur, ZeroAtFirstCut: true}, renditions,
		cut.Handler{Number: v.number, Closed: v.closed}, v.log)
	if err != nil {
		return err
	}
	v.begun = true
	v.cut, v.lead = c, c.Lead()
	for _, t := range c.Tracks() {
		v.tracks = append(v.tracks, manifest.Stream{Name: t.Rendition.Name, Kind: t.Kind, TS: t.Timescale})
	}
	for _, r := range renditions {
		// Declared bitrates are not used: every segment is measured.
		v.rends[r.Name] = &manifest.Meter{Name: r.Name, Language: r.Language, Label: r.Label, Default: r.Default}
	}
	v.log.Info("packager VOD started", "renditions", len(renditions), "lead", v.tracks[v.lead].Name, "segment", v.segDur)
	return nil
}

// WriteUnit packages one access unit of the rendition with that index in
// the list given to Begin. Segments are stored as they close; a failed
// write fails this and every later call.
func (v *Packager) WriteUnit(rendition int, u *media.Unit) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended {
		return ErrEnded
	}
	if v.cut == nil {
		return errors.New("packager: WriteUnit before Begin")
	}
	if rendition < 0 || rendition >= len(v.tracks) {
		return fmt.Errorf("packager: no rendition %d", rendition)
	}
	if v.storeErr != nil {
		return fmt.Errorf("packager: %w", v.storeErr)
	}
	err := v.cut.WriteUnit(rendition, u)
	v.collect()
	if err == nil {
		err = v.storeErr
	}
	if err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	return nil
}

// Held reports what the packager holds in memory while it cuts: segment
// numbers some renditions have closed and others not yet, and the bytes
// of units waiting for the lead rendition's next cut.
func (v *Packager) Held() (slots, pendingBytes int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cut == nil {
		return 0, 0
	}
	return v.cut.Held()
}

// number returns the number of a new segment.
func (v *Packager) number() (uint64, error) {
	n := v.nextSeg
	v.nextSeg++
	return n, nil
}

// closed stores a rendition's closed segment at once; a failure fails
// the VOD (see WriteUnit) and makes the segment a gap.
func (v *Packager) closed(s cut.Closed) error {
	v.publishDue = true
	if s.Data == nil {
		return nil
	}
	rel := manifest.SegmentKey(v.tracks[s.Rendition].Name, s.N)
	if err := v.put(v.storeCtx, rel, s.Data); err != nil {
		v.storeErrors++
		if v.storeErr == nil {
			v.storeErr = err
		}
		v.log.Error("storing segment", "key", rel, "error", err)
		return err
	}
	return nil
}

// put stores data under the key rel relative to the prefix.
func (v *Packager) put(ctx context.Context, rel string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := v.store.Put(ctx, manifest.JoinKey(v.prefix, rel), data); err != nil {
		return fmt.Errorf("storing %s: %w", rel, err)
	}
	return nil
}

// collect turns every segment number all renditions have closed into a
// record, after storing the init segments of the renditions that have one.
func (v *Packager) collect() {
	if !v.publishDue {
		return
	}
	v.publishDue = false
	for {
		sl, ok := v.cut.Ready()
		if !ok {
			return
		}
		v.writeInits()
		rec := &manifest.Segment{N: sl.N, InitV: vodInitVersion, Lead: v.tracks[v.lead].Name, Entries: make([]manifest.Entry, 0, len(v.tracks))}
		for i, st := range v.tracks {
			r := sl.Results[i]
			rec.Entries = append(rec.Entries, manifest.Entry{Name: st.Name, Kind: st.Kind, TS: st.TS, T: r.T, D: r.D, Size: r.Size, Count: r.Count, Gap: r.Gap})
		}
		if len(v.records) == 0 {
			rec.Period = manifest.Period{ID: sl.N, Start: rec.Start()}
		} else {
			rec.Period = v.records[0].Period
		}
		for i, st := range v.tracks {
			d := v.rends[st.Name].Add(&rec.Entries[i], st.Kind, v.segDur, 1)
			v.maxSegDur = max(v.maxSegDur, d)
		}
		v.records = append(v.records, rec)
	}
}

// writeInits stores the init segment of every rendition that has one and
// has not stored it yet. A video init segment is decided at the track's
// first keyframe, which starts its first segment.
func (v *Packager) writeInits() {
	if len(v.inits) == len(v.tracks) {
		return // every init segment is stored: nothing to look at per segment
	}
	for _, t := range v.cut.Tracks() {
		name := t.Rendition.Name
		if !t.HasInit || v.inits[name] {
			continue // no media yet, or done
		}
		v.inits[name] = true
		v.rends[name].Info = t.Info
		if err := v.put(v.storeCtx, manifest.InitKey(name, vodInitVersion), t.Init); err != nil {
			v.storeErrors++
			if v.storeErr == nil {
				v.storeErr = err
			}
		}
	}
}

// End flushes the last segments and writes the manifests: vod.json first,
// then the media playlists, manifest.mpd and index.m3u8 last, so an asset is
// playable only once all of them are stored. It fails, writing no manifest,
// when a segment could not be stored or a rendition has no media. Calling
// End again returns the first call's result.
func (v *Packager) End(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended {
		return v.endErr
	}
	v.ended = true
	v.storeCtx = ctx
	v.endErr = v.end(ctx)
	if v.endErr != nil {
		v.endErr = fmt.Errorf("packager: ending VOD: %w", v.endErr)
	}
	return v.endErr
}

func (v *Packager) end(ctx context.Context) error {
	if !v.begun {
		return errors.New("no renditions (Begin was not called)")
	}
	v.cut.Flush()
	v.collect()
	if v.storeErr != nil {
		return v.storeErr
	}
	if len(v.records) == 0 {
		return errors.New("no media")
	}
	gaps := map[string]int{}
	for _, r := range v.records {
		for _, e := range r.Entries {
			if e.Gap {
				gaps[e.Name]++
			}
		}
	}
	for _, t := range v.tracks {
		if gaps[t.Name] == len(v.records) {
			return fmt.Errorf("rendition %s has no media", t.Name)
		}
		if gaps[t.Name] > 0 {
			v.log.Warn("packager: rendition misses segments (no keyframe at the lead's cuts)", "rendition", t.Name, "gaps", gaps[t.Name])
		}
	}
	vw := v.view()
	if err := WriteView(ctx, v.store, v.prefix, vw, v.now()); err != nil {
		return err
	}
	v.result = v.makeResult(vw)
	v.log.Info("packager VOD ended", "segments", len(v.records), "duration", v.result.Duration, "dropped_units", v.cut.Dropped())
	return nil
}

// view is what the manifests are rendered from: every segment.
func (v *Packager) view() *manifest.View {
	vw := &manifest.View{
		SegDur: v.segDur, MaxSegDur: v.maxSegDur, Tracks: v.tracks, Window: v.records, VOD: true,
		Rends: make(map[string]*manifest.Rendition, len(v.rends)),
	}
	for name, ri := range v.rends {
		vw.Rends[name] = ri.Describe()
	}
	return vw
}

func (v *Packager) makeResult(vw *manifest.View) Result {
	res := Result{Duration: vw.Duration(), Segments: len(v.records)}
	for _, st := range v.tracks {
		ri := v.rends[st.Name]
		res.Renditions = append(res.Renditions, RenditionResult{
			Name: st.Name, Kind: st.Kind.String(), Codec: ri.Info.Codecs, Width: ri.Info.Width, Height: ri.Info.Height,
			Bitrate: ri.Average(), PeakBitrate: ri.PeakRate(), Language: ri.Language,
		})
	}
	return res
}

// Result describes what End published; it is zero before End succeeded.
func (v *Packager) Result() Result {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.result
	r.Renditions = slices.Clone(r.Renditions)
	return r
}
