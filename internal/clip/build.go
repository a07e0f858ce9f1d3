package clip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/asset"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// copyWorkers bounds the object copies in flight (S3 round trips overlap).
const copyWorkers = 8

// storeTimeout bounds one storage call.
const storeTimeout = 30 * time.Second

// Build copies the segments of v (a span of the live channel stored under
// src, its session in v.Dir) under dst in the asset layout and writes the
// asset's manifests: vod.json, then the media playlists, the MPD and the
// multivariant playlist last (asset.WriteView), so the asset is playable only
// once everything is stored. A non-zero end cuts the last segment there
// (see trimEnd): the clip then ends within a frame of it. Segments are
// renumbered from 1; a rendition
// that is not in v.Tracks is left out. A segment object missing from
// storage (retention deleted it meanwhile) becomes a gap; a clip left
// without media fails. It returns the View the manifests were rendered
// from; published is the MPD's publishTime.
//
// Like every VoD asset's, the clip's media time starts at 0: the copies'
// decode times (tfdt) and the View's entries are moved back by base, the
// start of the clip's first segment (wall-clock, since the Unix epoch),
// which Build returns: an instant t of the clip is base+t of the channel.
func Build(ctx context.Context, store storage.Store, src string, v *manifest.View, dst string, end, published time.Time, log *slog.Logger) (cv *manifest.View, base time.Duration, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cv, base, jobs := plan(v, src, dst)
	if len(cv.Window) == 0 {
		return nil, 0, errors.New("clip: no segments to copy")
	}
	missing, err := copyAll(ctx, store, jobs)
	if err != nil {
		return nil, 0, err
	}
	for _, j := range missing {
		if j.entry == nil {
			return nil, 0, fmt.Errorf("clip: init segment %s is missing from storage", j.from)
		}
		j.entry.Gap = true
		log.Warn("clip: segment missing from storage, listed as a gap", "key", j.from)
	}
	if err := dropEmpty(cv, log); err != nil {
		return nil, 0, err
	}
	if !end.IsZero() {
		if err := trimEnd(ctx, store, cv, dst, time.Unix(0, end.UnixNano()-int64(base))); err != nil {
			return nil, 0, err
		}
	}
	if err := asset.WriteView(ctx, store, dst, cv, published); err != nil {
		return nil, 0, fmt.Errorf("clip: writing the manifests: %w", err)
	}
	return cv, base, nil
}

// copyJob copies one object; entry is the segment entry it stores (nil
// for an init segment).
type copyJob struct {
	from, to string
	entry    *manifest.Entry
	shift    uint64 // ticks to move the segment's decode times back by
}

// plan builds the clip's View (segments renumbered from 1, only the
// ladder's renditions, discontinuity sequence from 0, media time from 0)
// and the copies it needs; base is the media time moved to 0.
func plan(v *manifest.View, src, dst string) (*manifest.View, time.Duration, []copyJob) {
	cv := &manifest.View{SegDur: v.SegDur, VOD: true, Rends: make(map[string]*manifest.Rendition, len(v.Tracks))}
	listed := map[string]bool{}
	for _, t := range v.Tracks {
		if ri := v.Rends[t.Name]; ri != nil && !listed[t.Name] {
			listed[t.Name] = true
			cv.Rends[t.Name] = ri
			cv.Tracks = append(cv.Tracks, t)
		}
	}
	var from []uint64 // source number of each of cv.Window's segments
	for _, r := range v.Window {
		seg := &manifest.Segment{N: uint64(len(cv.Window) + 1), Disc: r.Disc && len(cv.Window) > 0,
			DSeq: r.DSeq - v.Window[0].DSeq, InitV: r.InitV, Period: r.Period, Lead: r.Lead}
		for _, e := range r.Entries {
			if listed[e.Name] {
				seg.Entries = append(seg.Entries, e)
			}
		}
		if seg.Entry(seg.Lead) == nil {
			continue // its lead is not a rendition of the ladder listed
		}
		cv.Window = append(cv.Window, seg)
		from = append(from, r.N)
	}
	if len(cv.Window) == 0 {
		return cv, 0, nil
	}
	// The earliest start of the first segment's entries, in whole ms: a
	// whole number of ticks in every timescale Osprey uses.
	base := cv.Window[0].Start()
	var jobs []copyJob
	inits := map[string]bool{}
	srcDir := manifest.JoinKey(src, v.Dir)
	for i, seg := range cv.Window {
		seg.Period.Start = max(seg.Period.Start-base, 0)
		for j := range seg.Entries {
			e := &seg.Entries[j]
			shift := min(timeline.TicksAt(int64(base), e.TS), e.T)
			e.T -= shift
			cv.MaxSegDur = max(cv.MaxSegDur, timeline.Duration(e.D, e.TS))
			if e.Gap {
				continue
			}
			if k := manifest.InitKey(e.Name, seg.InitV); !inits[k] {
				inits[k] = true
				jobs = append(jobs, copyJob{from: manifest.JoinKey(srcDir, k), to: manifest.JoinKey(dst, k)})
			}
			jobs = append(jobs, copyJob{
				from:  manifest.JoinKey(srcDir, manifest.SegmentKey(e.Name, from[i])),
				to:    manifest.JoinKey(dst, manifest.SegmentKey(e.Name, seg.N)),
				entry: e,
				shift: shift,
			})
		}
	}
	return cv, base, jobs
}

// copyAll runs the copies, copyWorkers at a time. It returns the jobs
// whose source is missing, and the first other failure.
func copyAll(ctx context.Context, store storage.Store, jobs []copyJob) (missing []copyJob, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan copyJob)
	)
	for range min(copyWorkers, len(jobs)) {
		wg.Go(func() {
			for j := range next {
				err := copyObject(ctx, store, j.from, j.to, j.shift)
				switch {
				case errors.Is(err, storage.ErrNotFound):
					mu.Lock()
					missing = append(missing, j)
					mu.Unlock()
				case err != nil:
					cancel(err)
				}
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("clip: copying segments: %w", err)
	}
	return missing, nil
}

// copyObject copies the object from to the key to, moving the decode
// times of a media segment back by shift ticks.
func copyObject(ctx context.Context, store storage.Store, from, to string, shift uint64) error {
	data, err := read(ctx, store, from)
	if err != nil {
		return err
	}
	if shift > 0 {
		if data, err = rebase(data, shift); err != nil {
			return fmt.Errorf("moving the times of %s: %w", from, err)
		}
	}
	return put(ctx, store, to, data)
}

func put(ctx context.Context, store storage.Store, key string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := store.Put(ctx, key, data); err != nil {
		return fmt.Errorf("clip: storing %s: %w", key, err)
	}
	return nil
}

// dropEmpty leaves out of v the renditions that have no media in it
// (every entry a gap, or none); it fails when none is left.
func dropEmpty(v *manifest.View, log *slog.Logger) error {
	has := map[string]bool{}
	for _, r := range v.Window {
		for _, e := range r.Entries {
			has[e.Name] = has[e.Name] || !e.Gap
		}
	}
	var kept []manifest.Stream
	for _, t := range v.Tracks {
		if has[t.Name] {
			kept = append(kept, t)
			continue
		}
		log.Warn("clip: rendition has no media in the span, left out", "rendition", t.Name)
		delete(v.Rends, t.Name)
		for _, r := range v.Window {
			r.Entries = slices.DeleteFunc(r.Entries, func(e manifest.Entry) bool { return e.Name == t.Name })
		}
	}
	v.Tracks = kept
	if len(kept) == 0 {
		return errors.New("clip: no media in the span")
	}
	v.Window = slices.DeleteFunc(v.Window, func(r *manifest.Segment) bool { return r.Entry(r.Lead) == nil })
	if len(v.Window) == 0 {
		return errors.New("clip: no media in the span")
	}
	return nil
}
