package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/ospreyvideo/osprey/internal/media"
)

// source is the publisher's stream, demuxed once and replayed at real time
// in every run.
type source struct {
	tracks []*media.Track // video, audio
	units  []event        // in DTS order, DTS of the first video frame at 0
	dur    time.Duration
}

type event struct {
	track int
	unit  *media.Unit
}

// makeSource encodes seconds of a 720p30 test pattern and a 48 kHz tone as
// a publisher would send them (x264 veryfast with its B-frames, a 2 s GOP,
// AAC, in MPEG-TS) into dir, and demuxes it.
func makeSource(ffmpeg, dir string, seconds int) (*source, error) {
	path := filepath.Join(dir, "source.ts")
	out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", "-f", "mpegts", path).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("encoding the source: %v: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &mpegts.Reader{R: bufio.NewReader(f)}
	if err := r.Initialize(); err != nil {
		return nil, fmt.Errorf("reading the source: %w", err)
	}
	s := &source{tracks: make([]*media.Track, 2)}
	toDur := func(ts int64) time.Duration { return time.Duration(ts) * time.Second / 90000 }
	for _, t := range r.Tracks() {
		switch c := t.Codec.(type) {
		case *mcodecs.H264:
			r.OnDataH264(t, func(pts, dts int64, au [][]byte) error {
				if s.tracks[0] == nil {
					vt, err := media.VideoTrack(media.H264, au)
					if err != nil {
						return err
					}
					s.tracks[0] = vt
				}
				s.units = append(s.units, event{0, &media.Unit{PTS: toDur(pts), DTS: toDur(dts), Key: media.IsRandomAccess(media.H264, au), NALUs: au}})
				return nil
			})
		case *mcodecs.MPEG4Audio:
			conf, err := c.Config.Marshal()
			if err != nil {
				return nil, err
			}
			s.tracks[1] = &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: c.Config.SampleRate, Channels: int(c.Config.ChannelConfig), AudioConfig: conf} // 1..6 are channel counts (the test source is stereo)
			r.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) error {
				frame := 1024 * time.Second / time.Duration(c.Config.SampleRate)
				for i, au := range aus {
					p := toDur(pts) + time.Duration(i)*frame
					s.units = append(s.units, event{1, &media.Unit{PTS: p, DTS: p, Key: true, Data: au}})
				}
				return nil
			})
		}
	}
	for {
		if err := r.Read(); err != nil {
			break // io.EOF, or a truncated last packet
		}
	}
	if s.tracks[0] == nil || s.tracks[1] == nil {
		return nil, fmt.Errorf("source: missing video or audio")
	}
	slices.SortStableFunc(s.units, func(a, b event) int { return int(a.unit.DTS - b.unit.DTS) })
	var zero time.Duration = -1
	for _, e := range s.units {
		if e.track == 0 {
			zero = e.unit.DTS
			break
		}
	}
	for _, e := range s.units {
		e.unit.PTS -= zero
		e.unit.DTS -= zero
	}
	s.dur = time.Duration(seconds) * time.Second
	return s, nil
}
