// Package dvr keeps the index of a live channel's stored segments beyond
// the live window, so that any span of the last DVR window can be played
// (time-shifted playlists and MPDs) or cut into a clip, from any node.
//
// The index lives in storage, not in state.json: state.json is rewritten at
// every segment and must stay small, while a 24 h window of 1 s segments
// has 86 400 of them. It has two kinds of objects under the channel prefix:
//
//	dvr.json                   the Catalog: every session still kept, its chunks and their spans
//	s{k}/dvr/{first}.json      a Chunk: up to ChunkSize consecutive segments of session s{k},
//	                           as a manifest.Record (renditions, periods, entries, gaps)
//
// Only the node packaging the channel writes them (it holds the channel's
// lease). A chunk is rewritten at every segment until it holds ChunkSize
// segments (sealed); the catalog is rewritten when a chunk opens or is
// sealed, when a session ends and when retention drops chunks, so a
// reader finds the open chunk through the catalog and reads its end from
// the chunk itself. Chunks are written before the catalog names them.
package dvr

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// CatalogKey is the catalog's key under the channel prefix.
const CatalogKey = "dvr.json"

// ChunkSize is how many segments a chunk holds once sealed (about 2 min of
// 2 s segments; a chunk of a 4-rendition ladder is about 12 KB).
const ChunkSize = 64

// ChunkKey is the key, under the channel prefix, of session dir's chunk
// whose first segment is first.
func ChunkKey(dir string, first uint64) string {
	return dir + "/dvr/" + strconv.FormatUint(first, 10) + ".json"
}

// Catalog is the content of dvr.json.
type Catalog struct {
	Version  int       `json:"version"`
	Sessions []Session `json:"sessions"` // oldest first
}

// Session is a session's part of the catalog.
type Session struct {
	Dir string `json:"dir"` // "s{k}"
	// Ended is set once the session's manifests are ended: its last chunk
	// is complete (sealed or not).
	Ended  bool       `json:"ended,omitempty"`
	Chunks []ChunkRef `json:"chunks"` // oldest first
}

// ChunkRef names a chunk and the span it covers.
type ChunkRef struct {
	First uint64    `json:"first"` // number of its first segment (its key)
	Start time.Time `json:"start"` // media start of its first segment
	// Last and End are the number and media end of its last segment once
	// the chunk is sealed (or its session ended); zero while it is open:
	// read the chunk.
	Last uint64    `json:"last,omitempty"`
	End  time.Time `json:"end,omitzero"`
}

// Open reports whether the chunk may still grow.
func (c ChunkRef) Open() bool { return c.End.IsZero() }

// maxCatalog bounds what DecodeCatalog accepts: 24 h of 1 s segments in
// chunks, with room for short sessions.
const maxCatalog = 100_000

// DecodeCatalog decodes dvr.json, checking what a reader relies on:
// valid session directories, chunks in order.
func DecodeCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", CatalogKey, err)
	}
	n := 0
	for i, s := range c.Sessions {
		if !manifest.ValidDir(s.Dir) {
			return nil, fmt.Errorf("%s: session %d: invalid directory %q", CatalogKey, i, s.Dir)
		}
		for j, ch := range s.Chunks {
			if j > 0 && ch.First <= s.Chunks[j-1].First {
				return nil, fmt.Errorf("%s: session %s: chunks out of order at %d", CatalogKey, s.Dir, ch.First)
			}
			if !ch.Open() && (ch.Last < ch.First || ch.End.Before(ch.Start)) {
				return nil, fmt.Errorf("%s: session %s: chunk %d: invalid span", CatalogKey, s.Dir, ch.First)
			}
		}
		n += len(s.Chunks)
	}
	if n > maxCatalog {
		return nil, fmt.Errorf("%s: %d chunks, more than %d", CatalogKey, n, maxCatalog)
	}
	return &c, nil
}

// Encode encodes the catalog.
func (c *Catalog) Encode() ([]byte, error) {
	c.Version = 1
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", CatalogKey, err)
	}
	return data, nil
}

// EncodeChunk encodes the segments of a chunk (v.Window, at most ChunkSize
// consecutive segments of one session, with the renditions they name) as
// the manifest.Record of v.
func EncodeChunk(v *manifest.View) ([]byte, error) {
	data, err := json.Marshal(manifest.Encode(v, false))
	if err != nil {
		return nil, fmt.Errorf("encoding a DVR chunk: %w", err)
	}
	return data, nil
}

// DecodeChunk decodes a chunk into the View of its segments.
func DecodeChunk(data []byte) (*manifest.View, error) {
	var r manifest.Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding a DVR chunk: %w", err)
	}
	v, err := r.View()
	if err != nil {
		return nil, fmt.Errorf("decoding a DVR chunk: %w", err)
	}
	if len(v.Window) > ChunkSize {
		return nil, fmt.Errorf("decoding a DVR chunk: %d segments, more than %d", len(v.Window), ChunkSize)
	}
	return v, nil
}
