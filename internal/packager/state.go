package packager

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

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
	// Listed are objects that exist and are not yet scheduled for deletion,
	// one entry per session (the last one is the current session's).
	Listed []listing `json:"listed,omitempty"`
	// Deletes are objects to delete once their time has come.
	Deletes []deletion `json:"deletes,omitempty"`
	// Session describes the manifests last written (absent in state written
	// before it existed, or before a session published).
	Session *sessionState `json:"session,omitempty"`
}

// listing describes a session's stored objects compactly.
type listing struct {
	Renditions   []string `json:"renditions"`
	FirstSegment uint64   `json:"first_segment"`
	LastSegment  uint64   `json:"last_segment"` // inclusive; below FirstSegment when none
	Inits        []uint64 `json:"inits,omitempty"`
}

type deletion struct {
	At   time.Time `json:"at"`
	Keys []string  `json:"keys"`
}

// keys lists every object key of a listing (relative to the prefix).
func (ls *listing) keys() []string {
	var keys []string
	for _, r := range ls.Renditions {
		for n := ls.FirstSegment; n <= ls.LastSegment; n++ {
			keys = append(keys, segmentKey(r, n))
		}
		for _, v := range ls.Inits {
			keys = append(keys, initKey(r, v))
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

func segmentKey(rendition string, n uint64) string {
	return rendition + "/" + strconv.FormatUint(n, 10) + ".m4s"
}

func initName(v uint64) string { return "init-" + strconv.FormatUint(v, 10) + ".mp4" }

func initKey(rendition string, v uint64) string { return rendition + "/" + initName(v) }

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
	l.nextSeg, l.reserved = st.NextSegment, st.NextSegment
	l.nextInit = st.NextInit
	l.discSeq = st.DiscontinuitySequence
	l.oldListed = st.Listed
	l.deletes = st.Deletes
	l.hadPrevious = st.NextSegment > 0
	l.prev = st.Session
	return nil
}

// saveState writes state.json. exact writes the next segment number
// itself instead of the reservation (when nothing more will be allocated).
func (l *Live) saveState(exact bool) error {
	st := persisted{
		Version:               1,
		NextSegment:           max(l.reserved, l.nextSeg),
		NextInit:              l.nextInit,
		DiscontinuitySequence: l.discSeq,
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
		return fmt.Errorf("encoding state: %w", err)
	}
	if err := l.put(l.key(stateKey), data); err != nil {
		return fmt.Errorf("writing %s: %w", stateKey, err)
	}
	return nil
}

// session returns the record of the manifests as last written: this
// session's once it wrote any, else the previous session's as loaded.
func (l *Live) session() *sessionState {
	if l.last == nil {
		return l.prev
	}
	return encodeSession(l.last, !l.finalized)
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
		if err := l.saveState(false); err != nil {
			return n, err
		}
	}
	return n, nil
}

// allocInit returns a new init version, persisted before use.
func (l *Live) allocInit() (uint64, error) {
	v := l.nextInit
	l.nextInit++
	return v, l.saveState(false)
}

// scheduleDelete queues keys (relative to the prefix) for deletion after the grace period.
func (l *Live) scheduleDelete(keys ...string) {
	if len(keys) == 0 {
		return
	}
	l.deletes = append(l.deletes, deletion{At: l.cfg.Now().Add(l.cfg.DeleteGrace), Keys: keys})
}

// runDeletes deletes what is due.
func (l *Live) runDeletes() {
	now := l.cfg.Now()
	i := 0
	for ; i < len(l.deletes) && !l.deletes[i].At.After(now); i++ {
		for _, k := range l.deletes[i].Keys {
			ctx, cancel := l.opCtx()
			err := l.store.Delete(ctx, l.key(k))
			cancel()
			if err != nil {
				l.storeErrors++
				l.log.Warn("deleting expired object", "key", k, "error", err)
			}
		}
	}
	if i > 0 {
		l.deletes = append(l.deletes[:0], l.deletes[i:]...)
		l.deleted += int64(i)
	}
}
