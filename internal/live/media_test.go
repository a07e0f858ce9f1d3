package live

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/ospreyvideo/osprey/internal/media"
)

type testUnit struct {
	track int
	unit  *media.Unit
}

// makeUnits encodes a test source with ffmpeg and demuxes it into units on
// a session timeline starting at 0, as an ingest listener delivers them.
func makeUnits(t *testing.T, seconds int, size string) ([]*media.Track, []testUnit) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.ts")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
		"-c:a", "aac", "-ac", "2", "-f", "mpegts", path).CombinedOutput()
	if err != nil {
		t.Fatalf("making test input: %v: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &mpegts.Reader{R: f}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var (
		tracks []*media.Track
		units  []testUnit
		base   int64 = -1
	)
	rel := func(ts int64) time.Duration {
		if base < 0 {
			base = ts
		}
		return time.Duration(ts-base) * time.Second / 90000
	}
	for i, mt := range r.Tracks() {
		switch c := mt.Codec.(type) {
		case *mcodecs.H264:
			tr := &media.Track{Kind: media.Video, Codec: media.H264}
			tracks = append(tracks, tr)
			r.OnDataH264(mt, func(pts, dts int64, au [][]byte) error {
				if tr.SPS == nil {
					if pt, err := media.VideoTrack(media.H264, au); err == nil {
						*tr = *pt
					}
				}
				units = append(units, testUnit{i, &media.Unit{PTS: rel(pts), DTS: rel(dts), Key: media.IsRandomAccess(media.H264, au), NALUs: au}})
				return nil
			})
		case *mcodecs.MPEG4Audio:
			conf, err := c.Config.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			tracks = append(tracks, &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: c.SampleRate, Channels: int(c.ChannelConfig), AudioConfig: conf})
			r.OnDataMPEG4Audio(mt, func(pts int64, aus [][]byte) error {
				for j, au := range aus {
					p := rel(pts) + time.Duration(j)*1024*time.Second/time.Duration(c.SampleRate)
					units = append(units, testUnit{i, &media.Unit{PTS: p, DTS: p, Key: true, Data: au}})
				}
				return nil
			})
		}
	}
	for {
		if err := r.Read(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
	}
	return tracks, units
}

// publishRealTime writes units to pub at the pace of their DTS, as a live
// publisher would, calling each (if not nil) before every unit. It stops at
// the first error and returns it.
func publishRealTime(pub interface {
	WriteUnit(int, *media.Unit) error
}, units []testUnit, each func(time.Duration)) error {
	start := time.Now()
	for _, u := range units {
		if d := time.Until(start.Add(u.unit.DTS)); d > 0 {
			time.Sleep(d)
		}
		if each != nil {
			each(u.unit.DTS)
		}
		if err := pub.WriteUnit(u.track, u.unit); err != nil {
			return err
		}
	}
	return nil
}

// ffmpegWrapper writes a script that records its pid in the returned file
// and runs the real ffmpeg, slowed to half real time (a realtime filter
// before the first scale) while its filter graph holds slowIf ("" never
// slows it, "scale=" always does).
func ffmpegWrapper(t *testing.T, slowIf string) (path, pids string) {
	t.Helper()
	real, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, pids = filepath.Join(dir, "ffmpeg"), filepath.Join(dir, "pids")
	slow := "false"
	if slowIf != "" {
		slow = `case "$a" in *` + slowIf + `*) true;; *) false;; esac`
	}
	script := fmt.Sprintf(`#!/bin/bash
echo $$ >> %q
args=()
for a in "$@"; do
  if %s; then a="${a/scale=/realtime=speed=0.5,scale=}"; fi
  args+=("$a")
done
exec %q "${args[@]}"
`, pids, slow, real)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, pids
}

// recordedPIDs lists the pids the wrapper recorded.
func recordedPIDs(t *testing.T, file string) []int {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}
