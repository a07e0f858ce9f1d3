package packager

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// stateKey is the object, under the channel prefix, that keeps what must
// survive sessions and process restarts.
const stateKey = "state.json"

// segReserve is how many segment numbers are reserved per state write: a
// crash skips at most that many numbers, never reuses one.
const segReserve = 16

// persisted is the content of state.json.
type persisted struct {
	Version int `json:"version"`
	// NextSegment is above every segment number ever used (or reserved).
	NextSegment uint64 `json:"next_segment"`
	// NextInit is above every init version ever used.
	NextInit uint64 `json:"next_init"`
	// DiscontinuitySequence counts the discontinuities published so far.
	DiscontinuitySequence uint64 `json:"discontinuity_sequence"`
	// NextSession is above the number of every session directory ever
	// used ("s{k}"); absent (0) in state written before sessions had
	// directories.
	NextSession uint64 `json:"next_session,omitempty"`
	// Listed are objects that exist and are not yet scheduled for deletion,
	// one entry per session (the last one is the current session's).
	Listed []listing `json:"listed,omitempty"`
	// Deletes are objects to delete once their time has come.
	Deletes []deletion `json:"deletes,omitempty"`
	// Session describes the manifests last written (absent in state written
	// before it existed, or before a session published).
	Session *manifest.Record `json:"session,omitempty"`
}

// listing describes a session's stored objects compactly. A session with a
// directory (Dir) is deleted as a whole, directory and all; one without
// (the earlier layout, objects straight under the prefix) object by object.
type listing struct {
	Dir          string   `json:"dir,omitempty"`
	Renditions   []string `json:"renditions"`
	FirstSegment uint64   `json:"first_segment"`
	LastSegment  uint64   `json:"last_segment"` // inclusive; below FirstSegment when none
	Inits        []uint64 `json:"inits,omitempty"`
}

// deletion is a batch of objects to delete at a time: keys, and whole
// directories (ending in "/"), relative to the prefix.
type deletion struct {
	At   time.Time `json:"at"`
	Keys []string  `json:"keys"`
	Dirs []string  `json:"dirs,omitempty"`
}

// maxCounter bounds the counters read from state.json: far above anything
// reachable (a segment a second for 285 million years), low enough that
// they never wrap around.
const maxCounter = 1 << 53

// Bounds of a listing read from state.json. A real one covers a window
// and a reservation, a few dozen segments, for a ladder of a few renditions.
const (
	maxListedRenditions = 32
	maxListedSegments   = 1 << 10
)

// check reports whether a listing read from state.json is one this code
// could have written, so that deleting it stays bounded and inside the
// prefix.
func (ls *listing) check() error {
	if ls.Dir != "" && !manifest.ValidDir(ls.Dir) {
		return fmt.Errorf("invalid session directory %q", ls.Dir)
	}
	if len(ls.Renditions) > maxListedRenditions {
		return fmt.Errorf("%d renditions", len(ls.Renditions))
	}
	for _, r := range ls.Renditions {
		if !manifest.ValidName(r) {
			return fmt.Errorf("invalid rendition %q", r)
		}
	}
	if ls.LastSegment >= ls.FirstSegment && ls.LastSegment-ls.FirstSegment >= maxListedSegments {
		return fmt.Errorf("segments %d to %d", ls.FirstSegment, ls.LastSegment)
	}
	if len(ls.Inits) > maxListedSegments {
		return fmt.Errorf("%d init versions", len(ls.Inits))
	}
	return nil
}

// keys lists every object key of a listing of the earlier layout (relative
// to the prefix).
func (ls *listing) keys() []string {
	var keys []string
	for _, r := range ls.Renditions {
		for n := ls.FirstSegment; n <= ls.LastSegment; n++ {
			keys = append(keys, manifest.SegmentKey(r, n))
		}
		for _, v := range ls.Inits {
			keys = append(keys, manifest.InitKey(r, v))
		}
	}
	return keys
}

func (ls *listing) addRendition(name string) {
	for _, r := range ls.Renditions {
		if r == name {
			return
		}
	}
	ls.Renditions = append(ls.Renditions, name)
}

// loadState reads state.json; a missing object is a fresh channel.
func (l *Live) loadState() error {
	ctx, cancel := l.opCtx()
	defer cancel()
	obj, err := l.store.Open(ctx, l.key(stateKey))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", stateKey, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stateKey, err)
	}
	var st persisted
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("decoding %s: %w", stateKey, err)
	}
	if st.NextSegment > maxCounter || st.NextInit > maxCounter || st.NextSession > maxCounter {
		return fmt.Errorf("%s: counters out of range (next segment %d, init %d, session %d)",
			stateKey, st.NextSegment, st.NextInit, st.NextSession)
	}
	st.Listed = slices.DeleteFunc(st.Listed, func(ls listing) bool {
		if err := ls.check(); err != nil {
			l.log.Warn("ignoring an invalid listing in state.json; its objects stay", "error", err)
			return true
		}
		return false
	})
	l.nextSeg, l.reserved = st.NextSegment, st.NextSegment
	l.nextInit = st.NextInit
	l.discSeq = st.DiscontinuitySequence
	l.oldListed = st.Listed
	l.deletes = st.Deletes
	l.hadPrevious = st.NextSegment > 0
	l.prev = st.Session
	l.nextSession = st.NextSession
	return nil
}

// saveState writes state.json. exact writes the next segment number
// itself instead of the reservation (when nothing more will be allocated).
func (l *Live) saveState(exact bool) error {
	data, err := l.stateData(exact)
	if err != nil {
		return err
	}
	if err := l.put(l.key(stateKey), data); err != nil {
		return fmt.Errorf("writing %s: %w", stateKey, err)
	}
	return nil
}

// persistState saves state.json: through the background writer (before
// the manifests of its batch) while it runs, else at once.
func (l *Live) persistState() error {
	if l.w == nil {
		return l.saveState(false)
	}
	data, err := l.stateData(false)
	if err != nil {
		return err
	}
	l.w.SetBatch([]writer.Object{{Key: l.key(stateKey), Data: data}})
	return nil
}

// stateData encodes state.json.
func (l *Live) stateData(exact bool) ([]byte, error) {
	st := persisted{
		Version:               1,
		NextSegment:           max(l.reserved, l.nextSeg),
		NextInit:              l.nextInit,
		DiscontinuitySequence: l.discSeq,
		NextSession:           l.nextSession,
		Deletes:               l.deletes,
		Session:               l.session(),
	}
	if exact {
		st.NextSegment = l.nextSeg
		l.reserved = l.nextSeg
	}
	st.Listed = append(st.Listed, l.oldListed...)
	if len(l.listed.Renditions) > 0 {
		cur := l.listed
		if !l.listedStarted {
			cur.FirstSegment = l.nextSeg // no segment yet: an empty range
		}
		cur.LastSegment = cur.FirstSegment
		if l.nextSeg > cur.FirstSegment {
			cur.LastSegment = l.nextSeg - 1
		} else {
			cur.FirstSegment++ // empty
		}
		st.Listed = append(st.Listed, cur)
	}
	data, err := json.Marshal(&st)
	if err != nil {
		return nil, fmt.Errorf("encoding state: %w", err)
	}
	return data, nil
}

// session returns the record of the manifests as last written: this
// session's once it wrote any, else the previous session's as loaded.
func (l *Live) session() *manifest.Record {
	if l.last == nil {
		return l.prev
	}
	s := manifest.Encode(l.last, !l.finalized)
	s.Ending = l.ended && !l.finalized
	return s
}

// allocSegment returns a new segment number, persisting a reservation first
// whenever the previous one is used up.
func (l *Live) allocSegment() (uint64, error) {
	n := l.nextSeg
	l.nextSeg++
	if !l.listedStarted {
		l.listed.FirstSegment = n
		l.listedStarted = true
	}
	if l.nextSeg > l.reserved {
		l.reserved = l.nextSeg + segReserve
		if err := l.persistState(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// allocInit returns a new init version, persisted before use (before the
// manifests that name it: state.json leads the writer's batch). A failed
// write is logged: the next state write records it.
func (l *Live) allocInit() uint64 {
	v := l.nextInit
	l.nextInit++
	if err := l.persistState(); err != nil {
		l.storeErrors++
		l.log.Error("saving state", "error", err)
	}
	return v
}

// scheduleDelete queues keys (relative to the prefix) for deletion after the grace period.
func (l *Live) scheduleDelete(keys ...string) {
	if len(keys) == 0 {
		return
	}
	l.deletes = append(l.deletes, deletion{At: l.cfg.Now().Add(l.cfg.DeleteGrace), Keys: keys})
}

// scheduleDeleteListing queues an earlier session's objects for deletion
// after the grace period: its whole directory, or its objects one by one
// for a session of the earlier layout.
func (l *Live) scheduleDeleteListing(ls *listing) {
	if ls.Dir == "" {
		keys := ls.keys()
		for _, r := range ls.Renditions {
			keys = append(keys, r+"/"+manifest.PlaylistName) // no later session writes them
		}
		l.scheduleDelete(keys...)
		return
	}
	if !manifest.ValidDir(ls.Dir) || ls.Dir == l.dir {
		l.log.Warn("not deleting an invalid session directory", "dir", ls.Dir)
		return
	}
	l.deletes = append(l.deletes, deletion{At: l.cfg.Now().Add(l.cfg.DeleteGrace), Dirs: []string{ls.Dir + "/"}})
}

// dueDeletes removes from the queue the deletions that are due and
// returns them as storage keys (and prefixes, for directories).
func (l *Live) dueDeletes() []writer.Delete {
	now := l.cfg.Now()
	var ops []writer.Delete
	i := 0
	for ; i < len(l.deletes) && !l.deletes[i].At.After(now); i++ {
		for _, k := range l.deletes[i].Keys {
			ops = append(ops, writer.Delete{Key: l.key(k)})
		}
		for _, d := range l.deletes[i].Dirs {
			if !strings.HasSuffix(d, "/") || !manifest.ValidDir(strings.TrimSuffix(d, "/")) || d == l.dir+"/" {
				l.log.Warn("not deleting an invalid session directory", "dir", d)
				continue
			}
			ops = append(ops, writer.Delete{Key: l.key(d), Prefix: true})
		}
	}
	if i > 0 {
		l.deletes = append(l.deletes[:0], l.deletes[i:]...)
		l.deleted += int64(i)
	}
	return ops
}

// runDeletes deletes what is due: through the background writer (after
// the manifests it queued) while it runs, else at once.
func (l *Live) runDeletes() {
	ops := l.dueDeletes()
	if l.w != nil {
		l.w.AddDeletes(ops)
		return
	}
	l.deleteNow(ops)
}

// deleteNow runs deletions, logging failures.
func (l *Live) deleteNow(ops []writer.Delete) {
	for _, d := range ops {
		ctx, cancel := l.opCtx()
		var err error
		if d.Prefix {
			err = l.store.DeletePrefix(ctx, d.Key)
		} else {
			err = l.store.Delete(ctx, d.Key)
		}
		cancel()
		if err != nil {
			l.storeErrors++
			l.log.Warn("deleting expired object", "key", d.Key, "error", err)
		}
	}
}
