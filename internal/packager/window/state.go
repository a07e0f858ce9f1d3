// Package window keeps a live channel's published window and what must
// survive sessions and process restarts (state.json): the counters that
// make segment numbers, init versions and session directories never
// repeat, the listings of stored objects, the deletion queue, the
// renditions' measurements and the view the manifests were last rendered
// from (so that a crashed session can be ended or continued).
//
// A State does no I/O and keeps no lock: the live packager loads it from
// state.json (Load), changes it as segments are cut and published, and
// stores what Marshal returns, before the manifests that rely on it.
package window

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// Config tunes a State.
type Config struct {
	Window          int           // segments listed in the live manifests
	SegmentDuration time.Duration // target segment duration
	DeleteGrace     time.Duration // how long an object that left the window stays
	ContinueGrace   time.Duration // see Continuable; negative: never
	// MemoryEdge: segment numbers are served from memory (LL parts, the
	// segment being produced) before state.json lists them, so a session
	// continued after a crash must not reuse any number reserved.
	MemoryEdge bool
	Now        func() time.Time
	// Retain, when set, says the channel keeps a DVR index (package dvr)
	// and whether it names an earlier session's directory: segments and
	// init versions leaving the window are then not deleted (the index
	// ages them out), nor the earlier sessions it names.
	Retain func(dir string) bool
}

// State is a live channel's window and persistent state.
type State struct {
	cfg Config
	log *slog.Logger

	// Persistent counters (state.json).
	nextSeg       uint64
	reserved      uint64
	nextInit      uint64
	discSeq       uint64
	nextSession   uint64
	hadPrevious   bool // an earlier session of the channel published segments
	prevMemory    bool // the previous session served numbers from memory (File.MemoryEdge)
	oldListed     []Listing
	listed        Listing // this session's objects
	listedStarted bool
	deletes       []Deletion
	dir           string // this session's directory under the prefix

	// Published state of the session.
	window      []*manifest.Segment
	published   bool
	lastInits   map[string][]byte // init bytes per rendition of the last init version
	lastInitV   uint64
	initNames   map[uint64][]string // renditions that have an object per live init version
	period      manifest.Period
	maxSegDur   time.Duration
	rends       map[string]*manifest.Meter
	lastPublish time.Time
	lastSegment uint64
	segments    int64
	pubTracks   []manifest.Stream // ladder of the epoch that published last
	pubEpoch    int
	last        *manifest.View // what the manifests were last rendered from
	frozen      []manifest.Frozen
	ended       bool             // the session ended: its record is not live any more once finalized
	finalized   bool             // the ended manifests of last are written
	prev        *manifest.Record // the previous session's, as loaded from state.json
	continued   bool             // this session continues the previous one
	deleted     int64
}

// Load decodes state.json; nil data is a fresh channel. Listings that
// this code could not have written are dropped (their objects stay), so
// that deletions stay bounded and inside the prefix.
func Load(data []byte, cfg Config, log *slog.Logger) (*State, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &State{cfg: cfg, log: log, initNames: map[uint64][]string{}, rends: map[string]*manifest.Meter{}}
	if data == nil {
		return s, nil
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", Key, err)
	}
	if f.NextSegment > maxCounter || f.NextInit > maxCounter || f.NextSession > maxCounter {
		return nil, fmt.Errorf("%s: counters out of range (next segment %d, init %d, session %d)",
			Key, f.NextSegment, f.NextInit, f.NextSession)
	}
	f.Listed = slices.DeleteFunc(f.Listed, func(ls Listing) bool {
		if err := ls.check(); err != nil {
			log.Warn("ignoring an invalid listing in state.json; its objects stay", "error", err)
			return true
		}
		return false
	})
	s.nextSeg, s.reserved = f.NextSegment, f.NextSegment
	s.nextInit = f.NextInit
	s.discSeq = f.DiscontinuitySequence
	s.oldListed = f.Listed
	s.deletes = f.Deletes
	s.hadPrevious = f.NextSegment > 0
	s.prev = f.Session
	s.prevMemory = f.MemoryEdge
	s.nextSession = f.NextSession
	return s, nil
}

// Key is the object, under the channel prefix, that keeps the State.
const Key = "state.json"

// Marshal encodes state.json. exact writes the next segment number itself
// instead of the reservation (when nothing more will be allocated).
func (s *State) Marshal(exact bool) ([]byte, error) {
	f := File{
		Version:               1,
		NextSegment:           max(s.reserved, s.nextSeg),
		NextInit:              s.nextInit,
		DiscontinuitySequence: s.discSeq,
		NextSession:           s.nextSession,
		MemoryEdge:            s.cfg.MemoryEdge,
		Deletes:               s.deletes,
		Session:               s.record(),
	}
	if exact {
		f.NextSegment = s.nextSeg
		s.reserved = s.nextSeg
	}
	f.Listed = append(f.Listed, s.oldListed...)
	if len(s.listed.Renditions) > 0 {
		cur := s.listed
		if !s.listedStarted {
			cur.FirstSegment = s.nextSeg // no segment yet: an empty range
		}
		cur.LastSegment = cur.FirstSegment
		if s.nextSeg > cur.FirstSegment {
			cur.LastSegment = s.nextSeg - 1
		} else {
			cur.FirstSegment++ // empty
		}
		f.Listed = append(f.Listed, cur)
	}
	data, err := json.Marshal(&f)
	if err != nil {
		return nil, fmt.Errorf("encoding state: %w", err)
	}
	return data, nil
}

// record returns the record of the manifests as last written: this
// session's once it wrote any, else the previous session's as loaded.
func (s *State) record() *manifest.Record {
	if s.last == nil {
		return s.prev
	}
	r := manifest.Encode(s.last, !s.finalized)
	r.Ending = s.ended && !s.finalized
	return r
}

// AllocSegment returns a new segment number. persist asks the caller to
// store state.json, which extends the reservation, so that a crash never
// reuses a number: it is asked once half the reservation is used, so that
// with a memory edge (numbers served before any manifest names them) the
// new reservation is stored while numbers of the old one remain.
func (s *State) AllocSegment() (n uint64, persist bool) {
	n = s.nextSeg
	s.nextSeg++
	if !s.listedStarted {
		s.listed.FirstSegment = n
		s.listedStarted = true
	}
	if s.nextSeg+segReserve/2 > s.reserved {
		s.reserved = s.nextSeg + segReserve
		return n, true
	}
	return n, false
}

// scheduleDelete queues keys (relative to the prefix) for deletion after
// the grace period.
func (s *State) scheduleDelete(keys ...string) {
	if len(keys) == 0 {
		return
	}
	s.deletes = append(s.deletes, Deletion{At: s.cfg.Now().Add(s.cfg.DeleteGrace), Keys: keys})
}

// scheduleDeleteListing queues an earlier session's objects for deletion
// after the grace period: its whole directory, or its objects one by one
// for a session of the earlier layout.
func (s *State) scheduleDeleteListing(ls *Listing) {
	if ls.Dir == "" {
		keys := ls.keys()
		for _, r := range ls.Renditions {
			keys = append(keys, r+"/"+manifest.PlaylistName) // no later session writes them
		}
		s.scheduleDelete(keys...)
		return
	}
	if !manifest.ValidDir(ls.Dir) || ls.Dir == s.dir {
		s.log.Warn("not deleting an invalid session directory", "dir", ls.Dir)
		return
	}
	s.deletes = append(s.deletes, Deletion{At: s.cfg.Now().Add(s.cfg.DeleteGrace), Dirs: []string{ls.Dir + "/"}})
}

// Due is a deletion whose time has come: a key relative to the prefix, or
// (Prefix) every key under a directory.
type Due struct {
	Key    string
	Prefix bool
}

// DueDeletes removes from the queue the deletions that are due and
// returns them.
func (s *State) DueDeletes() []Due {
	now := s.cfg.Now()
	var out []Due
	i := 0
	for ; i < len(s.deletes) && !s.deletes[i].At.After(now); i++ {
		for _, k := range s.deletes[i].Keys {
			out = append(out, Due{Key: k})
		}
		for _, d := range s.deletes[i].Dirs {
			if !strings.HasSuffix(d, "/") || !manifest.ValidDir(strings.TrimSuffix(d, "/")) || d == s.dir+"/" {
				s.log.Warn("not deleting an invalid session directory", "dir", d)
				continue
			}
			out = append(out, Due{Key: d, Prefix: true})
		}
	}
	if i > 0 {
		s.deletes = append(s.deletes[:0], s.deletes[i:]...)
		s.deleted += int64(i)
	}
	return out
}

// Counters are what Stats reports of the State.
type Counters struct {
	SegmentsPublished int64
	LastSegment       uint64
	LastPublish       time.Time
	Discontinuities   uint64
	PendingDeletes    int
	Continued         bool
}

// Counters returns the State's counters.
func (s *State) Counters() Counters {
	return Counters{
		SegmentsPublished: s.segments, LastSegment: s.lastSegment, LastPublish: s.lastPublish,
		Discontinuities: s.discSeq, PendingDeletes: len(s.deletes), Continued: s.continued,
	}
}

// Meter returns the measurements of a rendition published in this
// session, nil if none.
func (s *State) Meter(name string) *manifest.Meter { return s.rends[name] }

// Published reports whether this session has published a segment.
func (s *State) Published() bool { return s.published }

// HadPrevious reports whether an earlier session of the channel published
// segments (the next one is discontinuous).
func (s *State) HadPrevious() bool { return s.hadPrevious }

// Dir is the session's directory under the prefix ("s{k}"; "" for the
// earlier layout).
func (s *State) Dir() string { return s.dir }

// End marks the session ended: state.json says so (its record is no
// longer continued) until Finalized.
func (s *State) End() { s.ended = true }

// Finalized records that the ended manifests of the last view are
// written: state.json's record is no longer live.
func (s *State) Finalized() { s.finalized = true }
