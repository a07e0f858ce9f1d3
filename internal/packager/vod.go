package packager

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

// VODConfig tunes a VOD packager. Zero values take the defaults.
type VODConfig struct {
	SegmentDuration time.Duration // target, default 4s
}

// DefaultVODSegmentDuration is the default VOD segment duration.
const DefaultVODSegmentDuration = 4 * time.Second

// vodInitVersion is the init version of every VOD rendition.
const vodInitVersion = 1

// vodFirstSegment is the number of a VOD's first segment.
const vodFirstSegment = 1

// VOD packages one asset: the units of its renditions are cut into CMAF
// segments, stored as they close, and End writes the manifests. Its methods
// are safe for concurrent use; units are expected from one goroutine.
type VOD struct {
	mu sync.Mutex
	core

	now     func() time.Time
	nextSeg uint64
	begun   bool
	ended   bool
	endErr  error

	// What End publishes: one record per segment (no media), measured per rendition.
	tracks    []manifest.Stream
	rends     map[string]*rendInfo
	records   []*manifest.Segment
	maxSegDur time.Duration
	inits     map[string]bool // renditions whose init segment is stored
	result    VODResult
}

// VODResult describes what End published.
type VODResult struct {
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

// NewVOD prepares packaging of one asset under prefix (e.g. "vod/as_abc").
// ctx bounds the storage writes made by WriteUnit (End takes its own).
// Nothing is read or written until units arrive.
func NewVOD(ctx context.Context, store storage.Store, prefix string, cfg VODConfig, log *slog.Logger) (*VOD, error) {
	if store == nil {
		return nil, errors.New("packager: nil store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.SegmentDuration <= 0 {
		cfg.SegmentDuration = DefaultVODSegmentDuration
	}
	v := &VOD{
		core: core{
			store: store, prefix: prefix, ctx: ctx, segDur: cfg.SegmentDuration,
			log: log.With("stage", "packager", "mode", "vod", "prefix", prefix),
		},
		now:     time.Now,
		nextSeg: vodFirstSegment,
		rends:   map[string]*rendInfo{},
		inits:   map[string]bool{},
	}
	return v, nil
}

// Begin sets the asset's renditions. It is called exactly once: a VOD has
// one timeline, so a second call (a transcoder restart) is an error.
func (v *VOD) Begin(renditions []Rendition) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended {
		return ErrEnded
	}
	if v.begun {
		return errors.New("packager: VOD Begin called twice")
	}
	ep, err := v.newEpoch(1, renditions, cut.Config{ZeroAtFirstCut: true}, cut.Handler{Number: v.number, Closed: v.closed})
	if err != nil {
		return err
	}
	v.begun = true
	v.ep = ep
	v.ep.initV = vodInitVersion
	v.tracks = ep.streams
	for _, r := range renditions {
		// Declared bitrates are not used: every segment is measured.
		v.rends[r.Name] = &rendInfo{name: r.Name, language: r.Language, label: r.Label, def: r.Default}
	}
	v.log.Info("packager VOD started", "renditions", len(renditions), "lead", ep.streams[ep.lead].Name, "segment", v.segDur)
	return nil
}

// WriteUnit packages one access unit of the rendition with that index in
// the list given to Begin. Segments are stored as they close; a failed
// write fails this and every later call.
func (v *VOD) WriteUnit(rendition int, u *media.Unit) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended {
		return ErrEnded
	}
	if err := v.checkUnit(rendition); err != nil {
		return err
	}
	if v.storeErr != nil {
		return fmt.Errorf("packager: %w", v.storeErr)
	}
	err := v.ep.cut.WriteUnit(rendition, u)
	v.collect()
	if err == nil {
		err = v.storeErr
	}
	if err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	return nil
}

// number returns the number of a new segment.
func (v *VOD) number() (uint64, error) {
	n := v.nextSeg
	v.nextSeg++
	return n, nil
}

// closed stores a rendition's closed segment at once; a failure fails
// the VOD (see WriteUnit) and makes the segment a gap.
func (v *VOD) closed(s cut.Closed) error {
	v.publishDue = true
	if s.Data == nil {
		return nil
	}
	name := v.ep.streams[s.Rendition].Name
	if err := v.put(v.segmentObject(name, s.N), s.Data); err != nil {
		v.storeErrors++
		if v.storeErr == nil {
			v.storeErr = fmt.Errorf("storing %s: %w", v.inDir(manifest.SegmentKey(name, s.N)), err)
		}
		v.log.Error("storing segment", "rendition", name, "segment", s.N, "error", err)
		return err
	}
	return nil
}

// collect turns every segment number all renditions have closed into a
// record, after storing the init segments of the renditions that have one.
func (v *VOD) collect() {
	if !v.publishDue {
		return
	}
	v.publishDue = false
	for {
		sl, ok := v.ep.cut.Ready()
		if !ok {
			return
		}
		v.writeInits()
		rec := v.ep.record(sl)
		if len(v.records) == 0 {
			rec.Period = manifest.Period{ID: sl.N, Start: rec.Start()}
		} else {
			rec.Period = v.records[0].Period
		}
		for i, st := range v.ep.streams {
			d := v.rends[st.Name].measure(&rec.Entries[i], st.Kind, v.segDur, v.ep.index)
			v.maxSegDur = max(v.maxSegDur, d)
		}
		v.records = append(v.records, rec)
	}
}

// writeInits stores the init segment of every rendition that has one and
// has not stored it yet. A video init segment is decided at the track's
// first keyframe, which starts its first segment.
func (v *VOD) writeInits() {
	for _, t := range v.ep.cut.Tracks() {
		name := t.Rendition.Name
		if !t.HasInit || v.inits[name] {
			continue // no media yet, or done
		}
		v.inits[name] = true
		v.rends[name].info = t.Info
		if err := v.put(v.key(manifest.InitKey(name, vodInitVersion)), t.Init); err != nil {
			v.storeErrors++
			if v.storeErr == nil {
				v.storeErr = fmt.Errorf("storing %s: %w", manifest.InitKey(name, vodInitVersion), err)
			}
		}
	}
}

// End flushes the last segments and writes the manifests: vod.json first,
// then the media playlists, manifest.mpd and index.m3u8 last, so an asset is
// playable only once all of them are stored. It fails, writing no manifest,
// when a segment could not be stored or a rendition has no media. Calling
// End again returns the first call's result.
func (v *VOD) End(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended {
		return v.endErr
	}
	v.ended = true
	v.ctx = ctx
	v.endErr = v.end(ctx)
	if v.endErr != nil {
		v.endErr = fmt.Errorf("packager: ending VOD: %w", v.endErr)
	}
	return v.endErr
}

func (v *VOD) end(ctx context.Context) error {
	if !v.begun {
		return errors.New("no renditions (Begin was not called)")
	}
	v.endEpoch()
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
	st := &vodState{Version: 1, Published: v.now().UTC().Truncate(time.Millisecond), Session: manifest.Encode(vw, false)}
	if err := writeVOD(ctx, v.store, v.prefix, vw, st, true); err != nil {
		return err
	}
	v.result = v.makeResult(vw)
	v.log.Info("packager VOD ended", "segments", len(v.records), "duration", v.result.Duration, "dropped_units", v.droppedUnits())
	return nil
}

// view is what the manifests are rendered from: every segment.
func (v *VOD) view() *manifest.View {
	vw := &manifest.View{
		SegDur: v.segDur, MaxSegDur: v.maxSegDur, Tracks: v.tracks, Window: v.records, VOD: true,
		Rends: make(map[string]*manifest.Rendition, len(v.rends)),
	}
	for name, ri := range v.rends {
		vw.Rends[name] = ri.view()
	}
	return vw
}

func (v *VOD) makeResult(vw *manifest.View) VODResult {
	res := VODResult{Duration: vw.Duration(), Segments: len(v.records)}
	for _, st := range v.ep.streams {
		ri := v.rends[st.Name]
		res.Renditions = append(res.Renditions, RenditionResult{
			Name: st.Name, Kind: st.Kind.String(), Codec: ri.info.Codecs, Width: ri.info.Width, Height: ri.info.Height,
			Bitrate: ri.average(), PeakBitrate: ri.peakRate(), Language: ri.language,
		})
	}
	return res
}

// Result describes what End published; it is zero before End succeeded.
func (v *VOD) Result() VODResult {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.result
	r.Renditions = slices.Clone(r.Renditions)
	return r
}
