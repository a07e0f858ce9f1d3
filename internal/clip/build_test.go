package clip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// TestSelect checks which segments a span keeps: the one holding the
// start (snapped back to its keyframe) through the one holding the
// instant before the end.
func TestSelect(t *testing.T) {
	_, _, v := liveStore(t)
	seg := func(i int) (time.Time, time.Time) { return segmentSpan(v.Window[i]) }
	s0, _ := seg(0)
	s2, e2 := seg(2)
	s4, e4 := seg(4)
	_, e5 := seg(5)
	ms := time.Millisecond
	tests := []struct {
		name       string
		start, end time.Time
		want       []uint64
	}{
		{"inside one segment", s2.Add(100 * ms), s2.Add(900 * ms), []uint64{102}},
		{"segment boundaries", s2, e4, []uint64{102, 103, 104}},
		{"mid to mid", s2.Add(500 * ms), s4.Add(ms), []uint64{102, 103, 104}},
		{"end on a boundary", s2.Add(ms), s4, []uint64{102, 103}},
		{"start a tick before a boundary", e2.Add(-ms), e4.Add(-ms), []uint64{102, 103, 104}},
		{"everything", s0.Add(-time.Hour), e5.Add(time.Hour), []uint64{100, 101, 102, 103, 104, 105}},
		{"before everything", s0.Add(-time.Hour), s0, nil},
		{"after everything", e5, e5.Add(time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint64
			for _, r := range Select(v, tc.start, tc.end).Window {
				got = append(got, r.N)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("segments %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBuild cuts segments 101-104 into an asset and checks the layout,
// the playlists (segments renumbered from 1, durations the stored ones),
// vod.json and that the result decodes from end to end with ffmpeg.
func TestBuild(t *testing.T) {
	store, root, v := liveStore(t)
	ctx := context.Background()
	s1, _ := segmentSpan(v.Window[1])
	s4, _ := segmentSpan(v.Window[4])
	sel := Select(v, s1.Add(300*time.Millisecond), s4.Add(time.Second))
	published := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	cv, _, err := Build(ctx, store, LivePrefix(testChannel), sel, "vod/as_clip", time.Time{}, published, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Window) != 4 {
		t.Fatalf("clip has %d segments, want 4", len(cv.Window))
	}
	// Every segment is the live one with its decode times moved to the
	// clip's timeline (from 0, as every VoD asset's): the same size, the
	// same media, tfdt = the clip's entry.
	dir := fixtureDir(t)
	for i, r := range cv.Window {
		if r.N != uint64(i+1) {
			t.Fatalf("segment %d numbered %d", i, r.N)
		}
		for _, name := range []string{videoName, audioName} {
			got := readKey(t, store, "vod/as_clip/"+manifest.SegmentKey(name, r.N))
			want := readKey(t, store, "live/ch_test/s3/"+manifest.SegmentKey(name, uint64(firstN+1+i)))
			mdat := func(b []byte) string { return string(b[bytes.Index(b, []byte("mdat")):]) }
			if len(got) != len(want) || mdat(got) != mdat(want) {
				t.Fatalf("%s segment %d does not hold live segment %d's media", name, r.N, firstN+1+i)
			}
			src := map[string]string{videoName: "v", audioName: "a"}[name]
			_, trex := trackInfo(t, filepath.Join(dir, src, "init.mp4"))
			tdt, _, _ := segmentTimes(t, got, trex)
			if e := r.Entry(name); tdt != e.T {
				t.Fatalf("%s segment %d: tfdt %d, entry %d", name, r.N, tdt, e.T)
			}
			if i == 0 && timeline.Duration(tdt, r.Entry(name).TS) > 100*time.Millisecond {
				t.Fatalf("%s: the clip's media time starts at %v, want about 0", name, timeline.Duration(tdt, r.Entry(name).TS))
			}
		}
	}
	for _, name := range []string{videoName, audioName} {
		if string(readKey(t, store, "vod/as_clip/"+manifest.InitKey(name, initV))) !=
			string(readKey(t, store, "live/ch_test/s3/"+manifest.InitKey(name, initV))) {
			t.Fatalf("%s init segment not copied", name)
		}
	}

	// The media playlist lists the four segments with the stored durations.
	pl := string(readKey(t, store, "vod/as_clip/"+videoName+"/index.m3u8"))
	var want strings.Builder
	var total time.Duration
	for i, r := range sel.Window {
		e := r.Entry(videoName)
		d := timeline.Duration(e.D, e.TS)
		total += d
		fmt.Fprintf(&want, "#EXTINF:%.3f,\n%d.m4s\n", d.Seconds(), i+1)
	}
	if !strings.Contains(pl, want.String()) || !strings.Contains(pl, "#EXT-X-PLAYLIST-TYPE:VOD") ||
		!strings.Contains(pl, "#EXT-X-ENDLIST") || !strings.Contains(pl, `#EXT-X-MAP:URI="init-3.mp4"`) {
		t.Fatalf("video playlist:\n%s\nwant the segments\n%s", pl, want.String())
	}
	if cv.Duration() < total || cv.Duration() > total+50*time.Millisecond {
		t.Fatalf("clip duration %v, want the video's %v (audio may end a frame later)", cv.Duration(), total)
	}

	// vod.json is the asset package's: it renders again (subtitles later).
	var st struct {
		Version   int              `json:"version"`
		Published time.Time        `json:"published"`
		Session   *manifest.Record `json:"session"`
	}
	if err := json.Unmarshal(readKey(t, store, "vod/as_clip/vod.json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != 1 || !st.Published.Equal(published) || len(st.Session.Window) != 4 {
		t.Fatalf("vod.json: version %d, published %v, %d segments", st.Version, st.Published, len(st.Session.Window))
	}
	if mpd := string(readKey(t, store, "vod/as_clip/manifest.mpd")); !strings.Contains(mpd, `type="static"`) {
		t.Fatalf("MPD is not static:\n%s", mpd)
	}

	// It plays: ffmpeg decodes every frame through the multivariant
	// playlist, and ffprobe's duration is the listed one within a frame.
	got := ffprobeDuration(t, filepath.Join(root, "vod/as_clip/index.m3u8"))
	if d := got - total; d < -40*time.Millisecond || d > 40*time.Millisecond {
		t.Fatalf("ffprobe duration %v, want %v within a frame", got, total)
	}
}

// TestBuildMissingSegment: a segment deleted after the span was read
// (retention at the window's edge) is listed as a gap, not a failure; a
// missing init segment fails the clip.
func TestBuildMissingSegment(t *testing.T) {
	store, _, v := liveStore(t)
	ctx := context.Background()
	if err := store.Delete(ctx, "live/ch_test/s3/"+manifest.SegmentKey(audioName, 102)); err != nil {
		t.Fatal(err)
	}
	cv, _, err := Build(ctx, store, LivePrefix(testChannel), v, "vod/as_gap", time.Time{}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := cv.Window[2].Entry(audioName); !e.Gap {
		t.Fatalf("missing audio segment is not a gap: %+v", e)
	}
	if pl := string(readKey(t, store, "vod/as_gap/"+audioName+"/index.m3u8")); !strings.Contains(pl, "#EXT-X-GAP\n3.m4s") {
		t.Fatalf("audio playlist does not mark segment 3 a gap:\n%s", pl)
	}

	if err := store.Delete(ctx, "live/ch_test/s3/"+manifest.InitKey(videoName, initV)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Build(ctx, store, LivePrefix(testChannel), v, "vod/as_noinit", time.Time{}, time.Now(), nil); err == nil {
		t.Fatal("Build without the init segment succeeded")
	}
	if _, err := store.Open(ctx, "vod/as_noinit/index.m3u8"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a failed clip has a multivariant playlist: %v", err)
	}
}
