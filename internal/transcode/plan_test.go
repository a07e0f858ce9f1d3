package transcode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/media"
)

var fourRungs = Ladder{Video: []Rung{
	{Name: "1080p", Height: 1080, Bitrate: 5_000_000},
	{Name: "720p", Height: 720, Bitrate: 2_800_000},
	{Name: "480p", Height: 480, Bitrate: 1_400_000},
	{Name: "360p", Height: 360, Bitrate: 800_000, Profile: "main"},
}}

func TestNewPlan(t *testing.T) {
	video := func(w, h int) *media.Track {
		return &media.Track{Kind: media.Video, Codec: media.H264, Width: w, Height: h}
	}
	audio := &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: 44100, Channels: 2}
	tests := []struct {
		name  string
		input []*media.Track
		want  string // name:WxH per rendition
	}{
		{"1080p input gets every rung", []*media.Track{video(1920, 1080), audio}, "1080p:1920x1080 720p:1280x720 480p:854x480 360p:640x360 audio:48000Hz"},
		{"720p input is never upscaled", []*media.Track{video(1280, 720), audio}, "720p:1280x720 480p:854x480 360p:640x360 audio:48000Hz"},
		{"odd aspect keeps ratio, even sizes", []*media.Track{video(1366, 768)}, "720p:1280x720 480p:854x480 360p:640x360"},
		{"portrait", []*media.Track{video(720, 1280), audio}, "720p:720x1280 480p:480x854 360p:360x640 audio:48000Hz"},
		{"tiny input gets one rung at its size", []*media.Track{video(320, 181)}, "180p:318x180"},
		{"audio only", []*media.Track{audio}, "audio:48000Hz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(fourRungs, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range p.Renditions {
				if r.Track.Kind == media.Video {
					got = append(got, fmt.Sprintf("%s:%dx%d", r.Name, r.Track.Width, r.Track.Height))
				} else {
					got = append(got, fmt.Sprintf("%s:%dHz", r.Name, r.Track.SampleRate))
				}
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("plan = %s\nwant   %s", s, tt.want)
			}
		})
	}
}

func TestNewPlanRejectsEmptyInput(t *testing.T) {
	if _, err := NewPlan(fourRungs, nil); err == nil {
		t.Fatal("want an error for an input without tracks")
	}
	if _, err := NewPlan(fourRungs, []*media.Track{{Kind: media.Video, Codec: media.H264}}); err == nil {
		t.Fatal("want an error for a video track of unknown size")
	}
}

func TestTSClockUnwraps(t *testing.T) {
	var c tsClock
	const wrap = int64(1) << 33
	in := []int64{wrap - 3000, wrap - 1500, 0, 1500, 1400, 3000}
	want := []int64{wrap - 3000, wrap - 1500, wrap, wrap + 1500, wrap + 1400, wrap + 3000}
	for i, ts := range in {
		if got := c.unwrap(ts); got != want[i] {
			t.Errorf("unwrap(%d) = %d, want %d", ts, got, want[i])
		}
	}
}
