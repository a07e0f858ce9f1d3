package transcode

import (
	"reflect"
	"testing"
)

func TestLadderWithDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in, want Ladder
	}{
		{
			name: "empty fields filled",
			in:   Ladder{Video: []Rung{{Name: "720p", Height: 720, Bitrate: 2_800_000}}},
			want: Ladder{
				Video:  []Rung{{Name: "720p", Height: 720, Bitrate: 2_800_000, MaxBitrate: 3_080_000, Profile: "high"}},
				Audio:  AudioRung{Bitrate: 128_000, SampleRate: 48_000, Channels: 2},
				Preset: "veryfast",
			},
		},
		{
			name: "set fields kept",
			in: Ladder{
				Video:       []Rung{{Name: "a", Height: 360, Bitrate: 800_000, MaxBitrate: 1_000_000, Profile: "main", MaxFPS: 30}},
				Audio:       AudioRung{Bitrate: 64_000, SampleRate: 44_100, Channels: 1},
				Passthrough: true,
				Preset:      "medium",
				Tune:        "film",
			},
			want: Ladder{
				Video:       []Rung{{Name: "a", Height: 360, Bitrate: 800_000, MaxBitrate: 1_000_000, Profile: "main", MaxFPS: 30}},
				Audio:       AudioRung{Bitrate: 64_000, SampleRate: 44_100, Channels: 1},
				Passthrough: true,
				Preset:      "medium",
				Tune:        "film",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := tt.in.Video[0]
			got := tt.in.WithDefaults()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WithDefaults:\n got  %+v\nwant %+v", got, tt.want)
			}
			if tt.in.Video[0] != before {
				t.Errorf("WithDefaults changed the caller's rungs: %+v, was %+v", tt.in.Video[0], before)
			}
		})
	}
}
