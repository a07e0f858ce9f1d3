package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(c *Config)
		want   string // substring of the error; "" means valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"rtmp and srt disabled", func(c *Config) { c.RTMPAddr, c.SRTAddr = "", "" }, ""},
		{"ipv6 listen", func(c *Config) { c.HTTPAddr = "[::1]:8080" }, ""},
		{"public url with path", func(c *Config) { c.PublicURL = "https://example.com/osprey/" }, ""},
		{"cors origin", func(c *Config) { c.CORSOrigin = "https://app.example.com" }, ""},
		{"cors disabled", func(c *Config) { c.CORSOrigin = "" }, ""},
		{"passthrough only ladder", func(c *Config) {
			c.Ladders["copy"] = Ladder{Passthrough: true}.WithDefaults()
			c.Live.Ladder = "copy"
		}, ""},
		{"segment 1s and 10s bounds", func(c *Config) { c.Live.SegmentDuration = 10 * time.Second }, ""},
		{"dvr off", func(c *Config) { c.Live.DVRWindow = 0 }, ""},
		{"dvr window bounds", func(c *Config) { c.Live.DVRWindow = 24 * time.Hour }, ""},
		{"dvr window of the live window", func(c *Config) { c.Live.DVRWindow = 20 * time.Second }, ""},

		{"empty data", func(c *Config) { c.DataDir = " " }, "data: must not be empty"},
		{"http without port", func(c *Config) { c.HTTPAddr = "localhost" }, "http: \"localhost\" is not a listen address"},
		{"http empty", func(c *Config) { c.HTTPAddr = "" }, "http: "},
		{"bad port", func(c *Config) { c.RTMPAddr = ":70000" }, "rtmp: \":70000\" has an invalid port"},
		{"named port", func(c *Config) { c.SRTAddr = ":srt" }, "srt: \":srt\" has an invalid port"},
		{"rtmp on http port", func(c *Config) { c.RTMPAddr = "0.0.0.0:8080" }, "rtmp: \"0.0.0.0:8080\" conflicts with http"},
		{"relative public url", func(c *Config) { c.PublicURL = "video.example.com" }, "public_url: \"video.example.com\" must be an absolute"},
		{"ftp public url", func(c *Config) { c.PublicURL = "ftp://example.com" }, "public_url: "},
		{"public url with query", func(c *Config) { c.PublicURL = "https://example.com/?a=b" }, "must not have a query"},
		{"log level", func(c *Config) { c.LogLevel = "verbose" }, "log_level: \"verbose\" is not one of debug, info, warn, error"},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, "log_format: \"xml\""},
		{"cors path", func(c *Config) { c.CORSOrigin = "https://app.example.com/page" }, "cors_origin: "},
		{"segment too short", func(c *Config) { c.Live.SegmentDuration = 500 * time.Millisecond }, "live.segment_duration: must be between 1s and 10s, got 500ms"},
		{"segment too long", func(c *Config) { c.Live.SegmentDuration = 11 * time.Second }, "live.segment_duration"},
		{"window", func(c *Config) { c.Live.Window = 2 }, "live.window: must be at least 3, got 2"},
		{"keyframe interval not a divisor", func(c *Config) { c.Live.KeyframeInterval = 1500 * time.Millisecond }, "live.keyframe_interval: must be 0 (one per segment) or divide live.segment_duration (2s) evenly, such as 1s or 500ms, got 1.5s"},
		{"keyframe interval longer than a segment", func(c *Config) { c.Live.KeyframeInterval = 4 * time.Second }, "live.keyframe_interval: "},
		{"keyframe interval too short", func(c *Config) { c.Live.KeyframeInterval = 50 * time.Millisecond }, "live.keyframe_interval: "},
		{"dvr window too short", func(c *Config) { c.Live.DVRWindow = 19 * time.Second }, "live.dvr_window: must be 0 (no DVR) or between live.window × live.segment_duration (20s) and 24h0m0s, got 19s"},
		{"dvr window too long", func(c *Config) { c.Live.DVRWindow = 25 * time.Hour }, "live.dvr_window: "},
		{"dvr window negative", func(c *Config) { c.Live.DVRWindow = -time.Second }, "live.dvr_window: "},
		{"unknown ladder", func(c *Config) { c.Live.Ladder = "fancy" }, "live.ladder: no ladder named \"fancy\" (have default, low, passthrough)"},
		{"ffmpeg path", func(c *Config) { c.FFmpeg.Path = "" }, "ffmpeg.path: must not be empty"},
		{"empty ladder", func(c *Config) { c.Ladders["x"] = Ladder{}.WithDefaults() }, "ladders.x.video: needs at least one rung"},
		{"duplicate rung", func(c *Config) {
			l := c.Ladders["low"]
			l.Video[1].Name = "720P"
			c.Ladders["low"] = l
		}, "ladders.low.video[1].name: \"720P\" is already used by video[0]"},
		{"rung name with slash", func(c *Config) { c.Ladders["low"].Video[0].Name = "../x" }, "ladders.low.video[0].name: \"../x\" must be"},
		{"rung name dot", func(c *Config) { c.Ladders["low"].Video[0].Name = "." }, "ladders.low.video[0].name"},
		{"rung name reserved", func(c *Config) { c.Ladders["low"].Video[0].Name = "audio" }, "\"audio\" is reserved"},
		{"odd height", func(c *Config) { c.Ladders["low"].Video[0].Height = 721 }, "ladders.low.video[0].height: must be an even number"},
		{"zero bitrate", func(c *Config) { c.Ladders["default"].Video[2].Bitrate = 0 }, "ladders.default.video[2].bitrate: must be greater than 0, got 0"},
		{"max below bitrate", func(c *Config) { c.Ladders["default"].Video[0].MaxBitrate = 1 }, "ladders.default.video[0].max_bitrate: must be at least bitrate"},
		{"profile", func(c *Config) { c.Ladders["default"].Video[0].Profile = "high10" }, "ladders.default.video[0].profile: \"high10\""},
		{"audio bitrate", func(c *Config) {
			l := c.Ladders["default"]
			l.Audio.Bitrate = 0
			c.Ladders["default"] = l
		}, "ladders.default.audio.bitrate: must be at least 8000"},
		{"audio channels", func(c *Config) {
			l := c.Ladders["default"]
			l.Audio.Channels = 0
			c.Ladders["default"] = l
		}, "ladders.default.audio.channels"},
		{"preset", func(c *Config) {
			l := c.Ladders["default"]
			l.Preset = "turbo"
			c.Ladders["default"] = l
		}, "ladders.default.preset: \"turbo\" is not an x264 preset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Default()
			tt.modify(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.HTTPAddr = "nope"
	cfg.Live.Window = 1
	cfg.LogFormat = "xml"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, key := range []string{"http:", "live.window:", "log_format:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not mention %s", err, key)
		}
	}
}

func TestWithDefaultsKeepsSetFields(t *testing.T) {
	t.Parallel()
	l := Ladder{
		Video:  []VideoRung{{Name: "a", Height: 720, Bitrate: 1000, MaxBitrate: 2000, Profile: "main"}, {Name: "b", Height: 360, Bitrate: 1000}},
		Audio:  AudioRung{Channels: 1},
		Preset: "fast",
	}
	got := l.WithDefaults()
	if got.Video[0].MaxBitrate != 2000 || got.Video[0].Profile != "main" {
		t.Errorf("set rung fields changed: %+v", got.Video[0])
	}
	if got.Video[1].MaxBitrate != 1100 || got.Video[1].Profile != "high" {
		t.Errorf("empty rung fields not defaulted: %+v", got.Video[1])
	}
	if got.Audio != (AudioRung{Bitrate: 128000, SampleRate: 48000, Channels: 1}) || got.Preset != "fast" {
		t.Errorf("audio/preset = %+v %q", got.Audio, got.Preset)
	}
	if l.Video[1].MaxBitrate != 0 {
		t.Error("WithDefaults modified its receiver's rungs")
	}
}
