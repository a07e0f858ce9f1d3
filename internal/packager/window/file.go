package window

import (
	"fmt"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// segReserve is how many segment numbers are reserved ahead: a crash
// skips at most that many numbers, never reuses one.
const segReserve = 8

// File is the content of state.json.
type File struct {
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
	// MemoryEdge is set when the session served segment numbers from memory
	// before listing them (Config.MemoryEdge): a continuation then skips
	// the reserved numbers instead of reusing them.
	MemoryEdge bool `json:"memory_edge,omitempty"`
	// Listed are objects that exist and are not yet scheduled for deletion,
	// one entry per session (the last one is the current session's).
	Listed []Listing `json:"listed,omitempty"`
	// Deletes are objects to delete once their time has come.
	Deletes []Deletion `json:"deletes,omitempty"`
	// Session describes the manifests last written (absent in state written
	// before it existed, or before a session published).
	Session *manifest.Record `json:"session,omitempty"`
}

// Listing describes a session's stored objects compactly. A session with a
// directory (Dir) is deleted as a whole, directory and all; one without
// (the earlier layout, objects straight under the prefix) object by object.
type Listing struct {
	Dir          string   `json:"dir,omitempty"`
	Renditions   []string `json:"renditions"`
	FirstSegment uint64   `json:"first_segment"`
	LastSegment  uint64   `json:"last_segment"` // inclusive; below FirstSegment when none
	Inits        []uint64 `json:"inits,omitempty"`
}

// Deletion is a batch of objects to delete at a time: keys, and whole
// directories (ending in "/"), relative to the prefix.
type Deletion struct {
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
func (ls *Listing) check() error {
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
func (ls *Listing) keys() []string {
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

func (ls *Listing) addRendition(name string) {
	for _, r := range ls.Renditions {
		if r == name {
			return
		}
	}
	ls.Renditions = append(ls.Renditions, name)
}
