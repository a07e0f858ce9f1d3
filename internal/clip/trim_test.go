package clip

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// TestBuildTrimsEnd cuts the clip's end inside segment 104, off any frame
// boundary: video and audio end at the first frame boundary at or after
// it, the media decodes, and ffprobe's duration agrees within a frame.
func TestBuildTrimsEnd(t *testing.T) {
	store, root, v := liveStore(t)
	ctx := context.Background()
	s2, _ := segmentSpan(v.Window[2])
	s4, _ := segmentSpan(v.Window[4])
	end := s4.Add(1234 * time.Millisecond)
	cv, base, err := Build(ctx, store, LivePrefix(testChannel), Select(v, s2.Add(time.Second), end), "vod/as_cut", end, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Window) != 3 {
		t.Fatalf("%d segments, want 3", len(cv.Window))
	}
	const frame = 40 * time.Millisecond // 25 fps
	last := cv.Window[2]
	for _, e := range last.Entries {
		got := timeline.Time(e.T+e.D, e.TS).Add(base)
		// Every sample starting before end is kept whole: the rendition
		// ends after end, by less than one of its frames (an AAC frame is
		// 21.3 ms).
		if got.Before(end) || got.Sub(end) >= frame {
			t.Errorf("%s ends at %v, want within a frame after %v", e.Name, got, end)
		}
		orig := v.Window[4].Entry(e.Name)
		if e.Count >= orig.Count || e.Size >= orig.Size {
			t.Errorf("%s: %d samples, %d bytes; the whole segment has %d, %d", e.Name, e.Count, e.Size, orig.Count, orig.Size)
		}
		stored := readKey(t, store, "vod/as_cut/"+manifest.SegmentKey(e.Name, last.N))
		if len(stored) != e.Size {
			t.Errorf("%s: stored %d bytes, entry says %d", e.Name, len(stored), e.Size)
		}
	}
	if e := last.Entry(videoName); e.Count != 31 { // frames at 0, 40, …, 1200 ms
		t.Errorf("video keeps %d frames of the last segment, want 31", e.Count)
	}
	want := end.Sub(s2)
	if d := cv.Duration(); d < want || d > want+frame {
		t.Errorf("clip duration %v, want %v within a frame", d, want)
	}
	pl := string(readKey(t, store, "vod/as_cut/"+videoName+"/index.m3u8"))
	if !strings.Contains(pl, "#EXTINF:1.240,\n3.m4s") {
		t.Errorf("video playlist does not end with the 1.24 s segment:\n%s", pl)
	}
	got := ffprobeDuration(t, filepath.Join(root, "vod/as_cut/index.m3u8"))
	if d := got - want; d < -frame || d > frame {
		t.Errorf("ffprobe duration %v, want %v within a frame", got, want)
	}
}

// TestRebaseKeepsEveryOtherByte: only the tfdt values change, also in a
// segment of several chunks with boxes mp4ff would not write back.
func TestRebaseKeepsEveryOtherByte(t *testing.T) {
	box := func(typ string, payload ...[]byte) []byte {
		body := bytes.Join(payload, nil)
		b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
		return append(append(b, typ...), body...)
	}
	tfdt1 := func(v uint64) []byte { return box("tfdt", []byte{1, 0, 0, 0}, binary.BigEndian.AppendUint64(nil, v)) }
	tfdt0 := func(v uint32) []byte { return box("tfdt", []byte{0, 0, 0, 0}, binary.BigEndian.AppendUint32(nil, v)) }
	chunk := func(tfdt []byte) []byte {
		return append(append(box("prft", make([]byte, 24)), box("moof", box("mfhd", make([]byte, 8)), box("traf", box("tfhd", make([]byte, 8)), tfdt))...), box("mdat", []byte("frames"))...)
	}
	in := append(box("styp", []byte("msdhcmfs")), append(chunk(tfdt1(1_000_000)), chunk(tfdt1(1_000_300))...)...)
	want := append(box("styp", []byte("msdhcmfs")), append(chunk(tfdt1(400_000)), chunk(tfdt1(400_300))...)...)
	got, err := rebase(in, 600_000)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("rebase: %v\n got %x\nwant %x", err, got, want)
	}
	if got, err := rebase(chunk(tfdt0(90)), 40); err != nil || !bytes.Equal(got, chunk(tfdt0(50))) {
		t.Fatalf("rebase of a version 0 tfdt: %x, %v", got, err)
	}
	for name, bad := range map[string][]byte{
		"before the start": chunk(tfdt1(5)),
		"no tfdt":          box("moof", box("traf", box("tfhd", make([]byte, 8)))),
		"truncated":        chunk(tfdt1(1_000_000))[:20],
	} {
		if _, err := rebase(bad, 600_000); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
