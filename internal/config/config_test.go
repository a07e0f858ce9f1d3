package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestDefaultLadders(t *testing.T) {
	t.Parallel()
	cfg := Default()
	def := cfg.Ladders[LadderDefault]
	want := []struct {
		name    string
		height  int
		bitrate int
		max     int
		profile string
	}{
		{"1080p", 1080, 5_000_000, 5_500_000, "high"},
		{"720p", 720, 2_800_000, 3_080_000, "high"},
		{"480p", 480, 1_400_000, 1_540_000, "high"},
		{"360p", 360, 800_000, 880_000, "main"},
	}
	if len(def.Video) != len(want) {
		t.Fatalf("default ladder has %d rungs, want %d", len(def.Video), len(want))
	}
	for i, w := range want {
		r := def.Video[i]
		if r.Name != w.name || r.Height != w.height || r.Bitrate != w.bitrate || r.MaxBitrate != w.max || r.Profile != w.profile {
			t.Errorf("rung %d = %+v, want %+v", i, r, w)
		}
	}
	if def.Audio != (AudioRung{Bitrate: 128000, SampleRate: 48000, Channels: 2}) || def.Preset != "veryfast" || def.Passthrough {
		t.Errorf("default ladder audio/preset/passthrough = %+v %q %v", def.Audio, def.Preset, def.Passthrough)
	}
	low := cfg.Ladders[LadderLow]
	if len(low.Video) != 2 || low.Video[0].Name != "720p" || low.Video[1].Name != "360p" {
		t.Errorf("low ladder rungs = %+v", low.Video)
	}
	pt := cfg.Ladders[LadderPassthrough]
	if !pt.Passthrough || !reflect.DeepEqual(pt.Video, def.Video) {
		t.Errorf("passthrough ladder = %+v", pt)
	}
}

func TestDefaultReturnsFreshValues(t *testing.T) {
	t.Parallel()
	a := Default()
	a.Ladders[LadderDefault].Video[0].Bitrate = 1
	delete(a.Ladders, LadderLow)
	b := Default()
	if b.Ladders[LadderDefault].Video[0].Bitrate != 5_000_000 || len(b.Ladders) != 3 {
		t.Fatal("modifying one Default() changed another")
	}
}

// The shipped example lists every setting at its default value.
func TestExampleFileEqualsDefault(t *testing.T) {
	t.Parallel()
	cfg, err := Load(filepath.Join("..", "..", "docs", "osprey.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(cfg, want) {
		t.Fatalf("example config differs from Default():\n got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadEmptyPathAndEmptyFile(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", writeFile(t, ""), writeFile(t, "# only a comment\n")} {
		cfg, err := Load(path)
		if err != nil {
			t.Fatalf("Load(%q): %v", path, err)
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("Load(%q) = %+v, want defaults", path, cfg)
		}
	}
}

func TestLoadOverlaysFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `
http: 127.0.0.1:9090
rtmp: ""
public_url: https://video.example.com
live:
  segment_duration: 4s
ladders:
  mobile:
    video:
      - {name: 540p, height: 540, bitrate: 1500000}
    audio: {bitrate: 96000}
  default:
    video:
      - {name: 720p, height: 720, bitrate: 3000000, max_bitrate: 4000000}
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.HTTPAddr = "127.0.0.1:9090"
	want.RTMPAddr = ""
	want.PublicURL = "https://video.example.com"
	want.Live.SegmentDuration = 4 * time.Second
	want.Ladders["mobile"] = Ladder{
		Video:  []VideoRung{{Name: "540p", Height: 540, Bitrate: 1_500_000, MaxBitrate: 1_650_000, Profile: "high"}},
		Audio:  AudioRung{Bitrate: 96000, SampleRate: 48000, Channels: 2},
		Preset: "veryfast",
	}
	want.Ladders["default"] = Ladder{
		Video:  []VideoRung{{Name: "720p", Height: 720, Bitrate: 3_000_000, MaxBitrate: 4_000_000, Profile: "high"}},
		Audio:  AudioRung{Bitrate: 128000, SampleRate: 48000, Channels: 2},
		Preset: "veryfast",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("Load =\n%+v\nwant\n%+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestLoadNullLaddersKeepsBuiltins(t *testing.T) {
	t.Parallel()
	cfg, err := Load(writeFile(t, "ladders:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Ladders, BuiltinLadders()) {
		t.Fatalf("ladders = %+v", cfg.Ladders)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{"unknown top-level key", "http: :80\nhtp: :81\n", []string{"line 2", "htp"}},
		{"unknown nested key", "live:\n  window: 5\n  windw: 6\n", []string{"line 3", "windw"}},
		{"unknown rung key", "ladders:\n  x:\n    video:\n      - {name: a, height: 2, bitrat: 5}\n", []string{"line 4", "bitrat"}},
		{"duration without unit", "live:\n  segment_duration: 2\n", []string{"line 2", "time.Duration", `e.g. "2s"`}},
		{"wrong type", "live:\n  window: many\n", []string{"line 2", "many"}},
		{"two documents", "http: :80\n---\nhttp: :81\n", []string{"line 2", "more than one"}},
		{"duplicate key", "http: :80\nhttp: :81\n", []string{"line 2", "already defined"}},
		{"syntax", "live: [\n", []string{"yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.content)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v", err)
	}
}
