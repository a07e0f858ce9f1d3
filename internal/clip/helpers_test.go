package clip

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// Fixture media: 12 s of 320x180 25 fps H.264 (2 s GOPs, no B-frames, as
// the live x264 makes) and AAC, cut by ffmpeg into 2 s CMAF segments per
// rendition, made once per test binary.
var fixture struct {
	once sync.Once
	dir  string
	err  error
}

// fixtureEpoch is when the fixture's media time starts.
var fixtureEpoch = time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)

const (
	testChannel = "ch_test"
	testDir     = "s3" // the session directory
	firstN      = 100  // number of the session's first stored segment
	initV       = 3    // init version of the session
	fixtureSegs = 6    // video segments of the fixture
	videoName   = "360p"
	audioName   = "audio"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

func fixtureDir(t *testing.T) string {
	t.Helper()
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "clip-fixture-")
		if fixture.err != nil {
			return
		}
		for _, d := range []string{"v", "a"} {
			if fixture.err = os.Mkdir(filepath.Join(fixture.dir, d), 0o755); fixture.err != nil {
				return
			}
		}
		hls := func(dir string) []string {
			return []string{"-f", "hls", "-hls_time", "2", "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
				"-hls_segment_filename", dir + "/%d.m4s", "-hls_playlist_type", "vod", dir + "/index.m3u8"}
		}
		args := []string{"-hide_banner", "-loglevel", "error",
			"-f", "lavfi", "-t", "12", "-i", "testsrc2=size=320x180:rate=25",
			"-f", "lavfi", "-t", "12", "-i", "sine=frequency=440:sample_rate=48000",
			"-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "0"}
		args = append(args, hls("v")...)
		args = append(args, "-map", "1:a", "-c:a", "aac", "-b:a", "64k")
		args = append(args, hls("a")...)
		cmd := exec.Command("ffmpeg", args...)
		cmd.Dir = fixture.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			fixture.err = fmt.Errorf("ffmpeg: %v: %s", err, out)
		}
	})
	if fixture.err != nil {
		t.Fatalf("making the fixture media: %v", fixture.err)
	}
	return fixture.dir
}

// trackInfo reads an init segment's timescale and trex.
func trackInfo(t *testing.T, path string) (uint32, *mp4.TrexBox) {
	t.Helper()
	f, err := mp4.ReadMP4File(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Init.Moov.Trak.Mdia.Mdhd.Timescale, f.Init.Moov.Mvex.Trex
}

// toWallClock moves a media segment's decode times by the seconds of
// fixtureEpoch: live media time is wall-clock (epoch-locked).
func toWallClock(t *testing.T, data []byte, ts uint32) []byte {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			for _, traf := range frag.Moof.Trafs {
				traf.Tfdt.SetBaseMediaDecodeTime(traf.Tfdt.BaseMediaDecodeTime() + uint64(fixtureEpoch.Unix())*uint64(ts))
			}
			frag.SetTrunDataOffsets()
		}
	}
	var out bytes.Buffer
	if err := f.Encode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// segmentTimes reads a media segment's decode time and duration.
func segmentTimes(t *testing.T, data []byte, trex *mp4.TrexBox) (tdt, dur uint64, count int) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	first := true
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			ss, err := frag.GetFullSamples(trex)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range ss {
				if first {
					tdt, first = s.DecodeTime, false
				}
				dur = s.DecodeTime + uint64(s.Dur) - tdt
				count++
			}
		}
	}
	return tdt, dur, count
}

// liveStore stores the fixture as a live session of testChannel would be
// (live/ch_test/s3/{rendition}/{n}.m4s from firstN, init-3.mp4) in a
// folder store, and returns the store, its root and the session's View,
// its entries measured from the stored segments.
func liveStore(t *testing.T) (storage.Store, string, *manifest.View) {
	t.Helper()
	dir := fixtureDir(t)
	root := t.TempDir()
	store, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v := &manifest.View{SegDur: 2 * time.Second, Dir: testDir, Rends: map[string]*manifest.Rendition{
		videoName: {Name: videoName, Codecs: "avc1.42c00d", Width: 320, Height: 180, Bandwidth: 300_000, Average: 200_000, FrameRate: 25},
		audioName: {Name: audioName, Codecs: "mp4a.40.2", SampleRate: 48000, Channels: 1, Bandwidth: 70_000, Average: 64_000},
	}, Tracks: []manifest.Stream{{Name: videoName, Kind: media.Video}, {Name: audioName, Kind: media.Audio}}}
	type rend struct {
		name, src string
		kind      media.Kind
	}
	rends := []rend{{videoName, "v", media.Video}, {audioName, "a", media.Audio}}
	for i := range rends {
		ts, _ := trackInfo(t, filepath.Join(dir, rends[i].src, "init.mp4"))
		v.Tracks[i].TS = ts
	}
	for k := range fixtureSegs {
		n := uint64(firstN + k)
		seg := &manifest.Segment{N: n, InitV: initV, Lead: videoName, Period: manifest.Period{ID: firstN}}
		for _, r := range rends {
			ts, trex := trackInfo(t, filepath.Join(dir, r.src, "init.mp4"))
			data, err := os.ReadFile(filepath.Join(dir, r.src, fmt.Sprintf("%d.m4s", k)))
			if err != nil {
				t.Fatal(err)
			}
			data = toWallClock(t, data, ts)
			tdt, d, count := segmentTimes(t, data, trex)
			seg.Entries = append(seg.Entries, manifest.Entry{Name: r.name, Kind: r.kind, TS: ts, T: tdt, D: d, Size: len(data), Count: count})
			key := manifest.JoinKey(LivePrefix(testChannel), manifest.JoinKey(testDir, manifest.SegmentKey(r.name, n)))
			if err := store.Put(ctx, key, data); err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				init, err := os.ReadFile(filepath.Join(dir, r.src, "init.mp4"))
				if err != nil {
					t.Fatal(err)
				}
				if err := store.Put(ctx, manifest.JoinKey(LivePrefix(testChannel), manifest.JoinKey(testDir, manifest.InitKey(r.name, initV))), init); err != nil {
					t.Fatal(err)
				}
			}
		}
		if k == 0 {
			seg.Period.Start = seg.Start()
		} else {
			seg.Period = v.Window[0].Period
		}
		v.Window = append(v.Window, seg)
		v.MaxSegDur = max(v.MaxSegDur, time.Duration(seg.Entries[0].D)*time.Second/time.Duration(seg.Entries[0].TS))
	}
	if d := startOf(v.Window[0]).Sub(fixtureEpoch); d < 0 || d > time.Second {
		t.Fatalf("fixture starts at %v, want wall-clock media time from %v", startOf(v.Window[0]), fixtureEpoch)
	}
	return store, root, v
}

// writeIndex stores v as the DVR index of testChannel: chunks of size
// segments (the last one open unless sealed), and dvr.json.
func writeIndex(t *testing.T, store storage.Store, v *manifest.View, size int, sealLast bool) {
	t.Helper()
	ctx := context.Background()
	prefix := LivePrefix(testChannel)
	sess := dvr.Session{Dir: v.Dir, Ended: sealLast}
	for i := 0; i < len(v.Window); i += size {
		part := *v
		part.Window = v.Window[i:min(i+size, len(v.Window))]
		data, err := dvr.EncodeChunk(&part)
		if err != nil {
			t.Fatal(err)
		}
		first := part.Window[0]
		if err := store.Put(ctx, manifest.JoinKey(prefix, dvr.ChunkKey(v.Dir, first.N)), data); err != nil {
			t.Fatal(err)
		}
		ref := dvr.ChunkRef{First: first.N, Start: startOf(first)}
		if i+size < len(v.Window) || sealLast {
			last := part.Window[len(part.Window)-1]
			ref.Last, ref.End = last.N, endOf(last)
		}
		sess.Chunks = append(sess.Chunks, ref)
	}
	cat := dvr.Catalog{Sessions: []dvr.Session{sess}}
	data, err := cat.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, manifest.JoinKey(prefix, dvr.CatalogKey), data); err != nil {
		t.Fatal(err)
	}
}

func startOf(r *manifest.Segment) time.Time { s, _ := segmentSpan(r); return s }
func endOf(r *manifest.Segment) time.Time   { _, e := segmentSpan(r); return e }

// readKey returns a stored object's bytes.
func readKey(t *testing.T, store storage.Store, key string) []byte {
	t.Helper()
	data, err := read(context.Background(), store, key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ffprobeDuration is what ffprobe says of a local file's duration, after
// ffmpeg decoded every frame of it without an error.
func ffprobeDuration(t *testing.T, path string) time.Duration {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("decoding %s: %v: %s", path, err, out)
	}
	out, err = exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(out)) + "s")
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", out, err)
	}
	return d
}
