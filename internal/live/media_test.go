package live

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/media/mediatest"
)

type testUnit struct {
	track int
	unit  *media.Unit
}

// makeUnits encodes a test source with ffmpeg and demuxes it into units on
// a session timeline starting at 0, as an ingest listener delivers them.
func makeUnits(t *testing.T, seconds int, size string) ([]*media.Track, []testUnit) {
	t.Helper()
	tracks, us := mediatest.Units(t, mediatest.Source{Seconds: seconds, Size: size, GOP: 30, SampleRate: 48000, Stereo: true})
	units := make([]testUnit, len(us))
	for i, u := range us {
		units[i] = testUnit{u.Track, u.Unit}
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
