package dvr

import (
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// Retention. A chunk ages out once the media end of its last segment is
// older than the DVR window: its segment objects, the init versions no
// kept segment names and the chunk object are deleted, and the catalog
// forgets it. A session that is not being packaged goes as a whole, its
// directory and all (ended playlists included), once its last chunk has
// aged out. Retention works chunk by chunk: a segment stays up to a
// chunk's duration longer than the window.
//
// Init versions only grow within a session (a new version is a new
// number, a continuation takes a new one), so a version below the one of
// the first segment kept is named by no kept segment.

// Aged is what retention removes from one session.
type Aged struct {
	Dir    string
	Chunks []ChunkRef // the aged chunks, oldest first
	// Whole: every chunk aged out and the session is not being packaged:
	// its whole directory goes.
	Whole bool
	// Next is the session's first chunk kept (nil if none).
	Next *ChunkRef
}

// Aged lists, session by session, the chunks whose media ended more than
// window before now. live is the session being packaged ("" if none): it
// never goes as a whole. Open chunks never age (their end is not in the
// catalog: Complete the ones of sessions no longer packaged first).
func (c *Catalog) Aged(now time.Time, window time.Duration, live string) []Aged {
	var out []Aged
	for _, s := range c.Sessions {
		a := Aged{Dir: s.Dir}
		i := 0
		for ; i < len(s.Chunks); i++ {
			ch := s.Chunks[i]
			if ch.Open() || ch.End.Add(window).After(now) {
				break
			}
			a.Chunks = append(a.Chunks, ch)
		}
		if i < len(s.Chunks) {
			next := s.Chunks[i]
			a.Next = &next
		}
		a.Whole = i == len(s.Chunks) && s.Dir != live
		if len(a.Chunks) > 0 || a.Whole {
			out = append(out, a)
		}
	}
	return out
}

// Drop removes from the catalog what a retention pass deleted.
func (c *Catalog) Drop(a Aged) {
	i := c.find(a.Dir)
	if i < 0 {
		return
	}
	if a.Whole {
		c.Sessions = slices.Delete(c.Sessions, i, i+1)
		return
	}
	s := &c.Sessions[i]
	s.Chunks = slices.DeleteFunc(s.Chunks, func(ch ChunkRef) bool {
		return slices.ContainsFunc(a.Chunks, func(d ChunkRef) bool { return d.First == ch.First })
	})
}

// Unfinished lists the sessions other than live whose last chunk is open
// in the catalog: a crash left them so. Complete them from their stored
// last chunk before retention.
func (c *Catalog) Unfinished(live string) []SessionChunk {
	var out []SessionChunk
	for _, s := range c.Sessions {
		if n := len(s.Chunks); n > 0 && s.Dir != live && s.Chunks[n-1].Open() {
			out = append(out, SessionChunk{Dir: s.Dir, Ref: s.Chunks[n-1]})
		}
	}
	return out
}

// SessionChunk is a chunk reference with its session.
type SessionChunk struct {
	Dir string
	Ref ChunkRef
}

// Complete sets the span of session dir's open last chunk from its stored
// content v (nil: it cannot be read, and the catalog forgets it) and
// marks the session ended. It reports whether the catalog changed.
func (c *Catalog) Complete(dir string, v *manifest.View) bool {
	i := c.find(dir)
	if i < 0 {
		return false
	}
	s := &c.Sessions[i]
	n := len(s.Chunks)
	if n == 0 || !s.Chunks[n-1].Open() {
		return false
	}
	if v == nil || len(v.Window) == 0 || v.Window[0].N != s.Chunks[n-1].First {
		s.Chunks = s.Chunks[:n-1]
	} else {
		last := v.Window[len(v.Window)-1]
		s.Chunks[n-1].Last, s.Chunks[n-1].End = last.N, SegmentEnd(last)
	}
	s.Ended = true
	return true
}

// Deletions lists the objects (keys under the channel prefix) to delete
// with the aged chunk v of session dir whose first segment is first: its
// segments' objects in every rendition, the init versions no kept segment
// names, and the chunk itself. keepInit, when known, is the init version
// of the session's first segment kept; otherwise the version of v's last
// segment is kept (a later chunk may name it; the directory takes it in
// the end). v nil (the chunk cannot be read): only the chunk object.
func Deletions(dir string, first uint64, v *manifest.View, keepInit uint64, known bool) []string {
	var keys []string
	if v != nil && len(v.Window) > 0 {
		maxV := uint64(0)
		names := map[uint64][]string{}
		for _, s := range v.Window {
			maxV = max(maxV, s.InitV)
			for _, e := range s.Entries {
				keys = append(keys, manifest.JoinKey(dir, manifest.SegmentKey(e.Name, s.N)))
				if !slices.Contains(names[s.InitV], e.Name) {
					names[s.InitV] = append(names[s.InitV], e.Name)
				}
			}
		}
		versions := make([]uint64, 0, len(names))
		for ver := range names {
			versions = append(versions, ver)
		}
		slices.Sort(versions)
		for _, ver := range versions {
			if ver < maxV || known && ver < keepInit {
				for _, name := range names[ver] {
					keys = append(keys, manifest.JoinKey(dir, manifest.InitKey(name, ver)))
				}
			}
		}
	}
	return append(keys, ChunkKey(dir, first))
}
