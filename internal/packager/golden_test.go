package packager

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/packager/asset"
)

// The golden tests pin every byte the packager stores for a few fixed
// scenarios: a refactor of the package (issue 11 splits it) must leave
// them identical. Text objects (playlists, MPDs, JSON, WebVTT) are kept
// whole in testdata/golden, media objects by size and SHA-256.
//
// After an intended change of the output, regenerate them with
//
//	go test ./internal/packager -run TestGolden -update
//
// and read the diff before committing it.
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// TestGoldenLive: a live session with two transcoder restarts (the
// second with new codec parameters), ended; then a second session of the
// channel whose previous one was left live by a crash and is continued.
func TestGoldenLive(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	cfg := Config{Window: 5, DeleteGrace: 10 * time.Second}
	l := newTestLive(t, st, clk, cfg, sessionStart)
	s := synth{gop: 60, rends: ladder(), bframes: true}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 9*time.Second))
	clk.Advance(9 * time.Second)
	s2 := synth{gop: 60, rends: ladder(), origin: 11 * time.Second}
	if err := l.Begin(s2.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s2.units(11*time.Second, 17*time.Second))
	clk.Advance(8 * time.Second)
	r3 := ladder()
	r3[0].Track = videoTrack(sps360, 640, 360)
	s3 := synth{gop: 60, rends: r3, origin: 18 * time.Second}
	if err := l.Begin(r3); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s3.units(18*time.Second, 23*time.Second))
	clk.Advance(5 * time.Second)
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, st, "live-ended")

	// The next session: a publication that crashes mid-segment, then its
	// continuation by another node within the grace period.
	clk.Advance(20 * time.Second)
	start2 := clk.Now()
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	s4 := synth{gop: 60, rends: ladder()}
	feed(t, l2, s4.units(0, 9*time.Second))
	crash(l2)
	clk.Advance(15 * time.Second)
	l3 := newTestLive(t, st, clk, cfg, clk.Now())
	if err := l3.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	feed(t, l3, s4.units(0, 7*time.Second))
	clk.Advance(7 * time.Second)
	if err := l3.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, st, "live-continued")
}

// TestGoldenVOD: a VOD with two video rungs and two audio languages,
// then two subtitle tracks published into it.
func TestGoldenVOD(t *testing.T) {
	st := newMemStore()
	rends := []Rendition{ladder()[0], ladder()[2], langAudio("audio-en", "en", "English", true), langAudio("audio-fr", "fr", "", false)}
	s := synth{gop: 48, rends: rends, bframes: true}
	runVOD(t, st, &s, 13*time.Second, asset.Config{SegmentDuration: 4 * time.Second})
	const vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello\n"
	var subs []asset.Subtitle
	for _, lang := range []string{"en", "pt-BR"} {
		name := strings.ToLower(lang)
		path := "subs/" + name + ".vtt"
		if err := st.Put(context.Background(), vodPrefix+"/"+path, []byte(vtt)); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, asset.Subtitle{Name: name, Language: lang, Path: path, Default: lang == "en"})
	}
	if err := asset.Publish(context.Background(), st, vodPrefix, subs); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, st, "vod")
}

// checkGolden compares a dump of every object in st with
// testdata/golden/name.txt (or writes it with -update).
func checkGolden(t *testing.T, st *memStore, name string) {
	t.Helper()
	got := dumpStore(st)
	path := filepath.Join("testdata", "golden", name+".txt")
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from the stored output at line %d:\n got: %q\nwant: %q\n(an intended change: go test -run TestGolden -update, then read the diff)", path, i+1, g, w)
		}
	}
}

// wallTimes match the times VOD takes from the wall clock (the live
// packager takes them from Config.Now): the MPD's publishTime and
// vod.json's "published".
var wallTimes = regexp.MustCompile(`publishTime="[^"]*"|"published":"[^"]*"`)

// dumpStore renders every object of st in key order: text objects whole
// (wall-clock times masked), others by size and hash.
func dumpStore(st *memStore) []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	keys := make([]string, 0, len(st.objects))
	for k := range st.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		data := st.objects[k]
		switch filepath.Ext(k) {
		case ".m3u8", ".mpd", ".json", ".vtt":
			fmt.Fprintf(&b, "== %s\n%s", k, wallTimes.ReplaceAll(data, []byte("<wall clock>")))
			if len(data) > 0 && data[len(data)-1] != '\n' {
				b.WriteString("\n(no final newline)\n")
			}
		default:
			sum := sha256.Sum256(data)
			fmt.Fprintf(&b, "== %s (%d bytes) sha256 %s\n", k, len(data), hex.EncodeToString(sum[:8]))
		}
	}
	return b.Bytes()
}
