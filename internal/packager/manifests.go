package packager

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
)

// writeManifests takes the view of what is published now and writes its
// manifests. While live, state.json (which records the view) is saved
// first, so that Recover never ends a shorter window than viewers saw; due
// deletions run last. End saves state itself. While the background writer
// runs (live), they are queued as its latest batch, superseding the
// unwritten part of the previous one; failures are retried there.
func (l *Live) writeManifests(final bool) error {
	v := l.st.Snapshot()
	var errs []error
	if l.w != nil && !final {
		items, rerrs := l.renderManifests(v, false)
		errs = rerrs
		state, err := l.st.Marshal(false)
		if err != nil {
			errs = append(errs, err)
		} else {
			items = append([]writer.Object{{Key: l.key(stateKey), Data: state}}, items...)
		}
		if l.dvr != nil {
			items = append(items, l.dvrItems(false)...)
		}
		l.w.SetBatch(items)
		l.runDeletes()
		l.wakeRetainer()
	} else {
		if !final {
			if err := l.saveState(false); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, l.putManifests(v, final)...)
		if !final {
			l.runDeletes()
		}
	}
	if len(errs) > 0 {
		l.storeErrors += int64(len(errs))
		for _, err := range errs {
			l.log.Error("writing manifests", "error", err)
		}
	}
	return errors.Join(errs...)
}

// renderManifests renders the media playlists, the MPD and (when it
// changed) the multivariant playlist of v, taking the latter as written.
func (l *Live) renderManifests(v *manifest.View, final bool) ([]writer.Object, []error) {
	var items []writer.Object
	var errs []error
	for _, t := range v.Tracks {
		if pl := v.MediaPlaylist(t.Name, final); pl != nil {
			items = append(items, writer.Object{Key: l.key(v.PlaylistPath(t.Name)), Data: pl.Marshal()})
		}
	}
	if final {
		keys, pls := v.EndFrozen()
		for i, k := range keys {
			items = append(items, writer.Object{Key: l.key(k), Data: pls[i]})
		}
	}
	o := manifest.LiveOptions{Window: l.cfg.Window, TimeURL: l.cfg.TimeURL}
	if l.ll != nil {
		o.LowLatency = l.dashLowLatency()
	}
	if data, err := v.MPD(final, l.cfg.Now(), o); err != nil {
		errs = append(errs, err)
	} else {
		items = append(items, writer.Object{Key: l.key(manifest.MPDKey), Data: data})
	}
	if mv := v.Multivariant(); !bytes.Equal(mv, l.multivar) {
		items = append(items, writer.Object{Key: l.key(manifest.MultivariantKey), Data: mv})
		l.multivar = mv
	}
	return items, errs
}

// putManifests stores the media playlists, the MPD and (when it changed)
// the multivariant playlist of v at once. End and Recover share it.
func (l *Live) putManifests(v *manifest.View, final bool) []error {
	prevMV := l.multivar
	items, errs := l.renderManifests(v, final)
	for _, it := range items {
		if err := l.put(it.Key, it.Data); err != nil {
			errs = append(errs, fmt.Errorf("storing %s: %w", it.Key, err))
			if it.Key == l.key(manifest.MultivariantKey) {
				l.multivar = prevMV
			}
		}
	}
	return errs
}
