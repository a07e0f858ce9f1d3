package app

import (
	"reflect"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// The configuration and the transcoder each fill in empty ladder fields;
// converting before or after must give the same ladder, or the defaults a
// user reads about (config) and those applied (transcode) have drifted.
func TestLadderDefaultsAgree(t *testing.T) {
	t.Parallel()
	cases := map[string]config.Ladder{
		"zero": {},
		"sparse": {
			Video: []config.VideoRung{
				{Name: "a", Height: 720, Bitrate: 2_345_679},
				{Name: "b", Height: 360, Bitrate: 19, MaxBitrate: 50, Profile: "main"},
			},
			Audio: config.AudioRung{Channels: 1},
			Tune:  "film",
		},
	}
	for name, l := range config.BuiltinLadders() {
		cases["preset "+name] = l
	}
	for name, l := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := TranscodeLadder(l.WithDefaults())
			got := TranscodeLadder(l).WithDefaults()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("transcode defaults:\n got  %+v\nwant %+v (config defaults, converted)", got, want)
			}
		})
	}
}

func TestTranscodeLadderCarriesEveryField(t *testing.T) {
	t.Parallel()
	in := config.Ladder{
		Video: []config.VideoRung{
			{Name: "720p", Height: 720, Bitrate: 2_800_000, MaxBitrate: 3_000_000, Profile: "main", MaxFPS: 30},
			{Name: "360p", Height: 360, Bitrate: 800_000, MaxBitrate: 900_000, Profile: "baseline", MaxFPS: 25},
		},
		Audio:       config.AudioRung{Bitrate: 96_000, SampleRate: 44_100, Channels: 1},
		Passthrough: true,
		Preset:      "medium",
		Tune:        "zerolatency",
		Lookahead:   true,
	}
	// A field added to the configured ladder must be set above, so the
	// comparison below covers it.
	assertAllSet(t, "config.Ladder", reflect.ValueOf(in))
	want := transcode.Ladder{
		Video: []transcode.Rung{
			{Name: "720p", Height: 720, Bitrate: 2_800_000, MaxBitrate: 3_000_000, Profile: "main", MaxFPS: 30},
			{Name: "360p", Height: 360, Bitrate: 800_000, MaxBitrate: 900_000, Profile: "baseline", MaxFPS: 25},
		},
		Audio:       transcode.AudioRung{Bitrate: 96_000, SampleRate: 44_100, Channels: 1},
		Passthrough: true,
		Preset:      "medium",
		Tune:        "zerolatency",
		Lookahead:   true,
	}
	assertAllSet(t, "transcode.Ladder", reflect.ValueOf(want))
	if got := TranscodeLadder(in); !reflect.DeepEqual(got, want) {
		t.Errorf("TranscodeLadder:\n got  %+v\nwant %+v", got, want)
	}
}

// The two ladder shapes have the same fields, so a field added to one and
// not the other fails here rather than being dropped by TranscodeLadder.
func TestLadderShapesMatch(t *testing.T) {
	t.Parallel()
	pairs := []struct{ config, transcode any }{
		{config.Ladder{}, transcode.Ladder{}},
		{config.VideoRung{}, transcode.Rung{}},
		{config.AudioRung{}, transcode.AudioRung{}},
	}
	for _, p := range pairs {
		c, tr := reflect.TypeOf(p.config), reflect.TypeOf(p.transcode)
		if got, want := fieldNames(tr), fieldNames(c); !reflect.DeepEqual(got, want) {
			t.Errorf("%v fields %v, %v has %v", tr, got, c, want)
		}
	}
}

func fieldNames(t reflect.Type) []string {
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}

// assertAllSet fails for every zero field of the struct v, looking into
// nested structs and the elements of slices.
func assertAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			assertAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
		}
		for i := range v.Len() {
			assertAllSet(t, path+"[]", v.Index(i))
		}
	default:
		if v.IsZero() {
			t.Errorf("%s is not set", path)
		}
	}
}
