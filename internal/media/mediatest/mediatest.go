// Package mediatest makes test media: a source encoded by the real ffmpeg
// and demuxed into the units an ingest listener delivers. Tests only.
package mediatest

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Source describes the test source: testsrc2 video (H.264, ultrafast)
// and a 440 Hz tone (AAC).
type Source struct {
	Seconds    int
	Size       string // "1280x720"
	GOP        int    // frames between keyframes at 30 fps
	SampleRate int    // Hz
	Stereo     bool   // two audio channels instead of one
}

// Unit is a unit of one of the returned tracks.
type Unit struct {
	Track int
	Unit  *media.Unit
}

// Units encodes src with ffmpeg and demuxes it into tracks and units on a
// session timeline starting at 0.
func Units(t testing.TB, src Source) ([]*media.Track, []Unit) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.ts")
	args := []string{"-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=" + src.Size + ":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=" + strconv.Itoa(src.SampleRate),
		"-t", strconv.Itoa(src.Seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", strconv.Itoa(src.GOP),
		"-c:a", "aac"}
	if src.Stereo {
		args = append(args, "-ac", "2")
	}
	out, err := exec.Command("ffmpeg", append(args, "-f", "mpegts", path)...).CombinedOutput()
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
		units  []Unit
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
				units = append(units, Unit{i, &media.Unit{PTS: rel(pts), DTS: rel(dts), Key: media.IsRandomAccess(media.H264, au), NALUs: au}})
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
					units = append(units, Unit{i, &media.Unit{PTS: p, DTS: p, Key: true, Data: au}})
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
