package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits enforced by Validate.
const (
	MinSegmentDuration = time.Second
	MaxSegmentDuration = 10 * time.Second
	MinWindow          = 3
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	profiles   = []string{"baseline", "main", "high"}
	presets    = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}
	tunes      = []string{"film", "animation", "grain", "stillimage", "fastdecode", "zerolatency", "psnr", "ssim"}

	// A rendition name becomes a path segment of media URLs and storage keys.
	renditionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	// Names a video rung may not take because other renditions use them.
	reservedRenditions = []string{"audio", "source", "passthrough"}
)

// Validate reports every problem with c at once, each prefixed by the YAML
// path of the setting (e.g. "live.window: must be at least 3, got 2").
//
// Ladders must be complete: Load fills in empty ladder fields, and a Config
// built in code should pass its ladders through Ladder.WithDefaults.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if strings.TrimSpace(c.DataDir) == "" {
		add("data", "must not be empty")
	}
	if err := checkAddr(c.HTTPAddr); err != nil {
		add("http", "%v", err)
	}
	if c.RTMPAddr != "" {
		if err := checkAddr(c.RTMPAddr); err != nil {
			add("rtmp", "%v", err)
		} else if sameTCPPort(c.RTMPAddr, c.HTTPAddr) {
			add("rtmp", "%q conflicts with http %q (both are TCP listeners)", c.RTMPAddr, c.HTTPAddr)
		}
	}
	if c.SRTAddr != "" {
		if err := checkAddr(c.SRTAddr); err != nil {
			add("srt", "%v", err)
		}
	}
	if c.PublicURL != "" {
		if err := checkBaseURL(c.PublicURL); err != nil {
			add("public_url", "%v", err)
		}
	}
	errs = append(errs, CheckLogging(c.LogLevel, c.LogFormat)...)
	if err := checkOrigin(c.CORSOrigin); err != nil {
		add("cors_origin", "%v", err)
	}

	errs = append(errs, c.validateCluster()...)
	errs = append(errs, c.Live.validate(c)...)
	errs = append(errs, c.VOD.validate(c)...)
	errs = append(errs, c.Webhooks.validate()...)
	errs = append(errs, c.Ingest.validate()...)
	errs = append(errs, c.Security.validate()...)
	if strings.TrimSpace(c.FFmpeg.Path) == "" {
		add("ffmpeg.path", "must not be empty")
	}
	for _, name := range c.ladderNames() {
		errs = append(errs, c.Ladders[name].validate("ladders."+name)...)
	}
	if c.Origin.CacheSize < 0 {
		add("origin.cache_size", "must not be negative, got %d", c.Origin.CacheSize)
	}
	if c.Origin.RequireHeader != "" {
		if _, _, err := ParseHeaderLine(c.Origin.RequireHeader); err != nil {
			add("origin.require_header", "%v", err)
		}
	}
	if c.Edge.Enabled {
		errs = append(errs, c.Edge.Validate("edge.", false)...)
	}
	return errors.Join(errs...)
}

// ladderList is the ladder names for error messages: "a, b, c".
func (c Config) ladderList() string { return strings.Join(c.ladderNames(), ", ") }

func (c Config) ladderNames() []string {
	names := make([]string, 0, len(c.Ladders))
	for name := range c.Ladders {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (l Ladder) validate(key string) []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(l.Video) == 0 && !l.Passthrough {
		add(key+".video", "needs at least one rung (or passthrough: true)")
	}
	seen := map[string]int{}
	for i, r := range l.Video {
		rk := fmt.Sprintf("%s.video[%d]", key, i)
		switch {
		case !renditionName.MatchString(r.Name):
			add(rk+".name", "%q must be 1-32 letters, digits, '-' or '_', starting with a letter or digit", r.Name)
		case slices.Contains(reservedRenditions, strings.ToLower(r.Name)):
			add(rk+".name", "%q is reserved", r.Name)
		default:
			if j, dup := seen[strings.ToLower(r.Name)]; dup {
				add(rk+".name", "%q is already used by video[%d]", r.Name, j)
			}
			seen[strings.ToLower(r.Name)] = i
		}
		if r.Height < 2 || r.Height > 4320 || r.Height%2 != 0 {
			add(rk+".height", "must be an even number of pixels between 2 and 4320, got %d", r.Height)
		}
		if r.Bitrate <= 0 {
			add(rk+".bitrate", "must be greater than 0, got %d", r.Bitrate)
		}
		if r.MaxBitrate < r.Bitrate {
			add(rk+".max_bitrate", "must be at least bitrate (%d), got %d", r.Bitrate, r.MaxBitrate)
		}
		if !slices.Contains(profiles, r.Profile) {
			add(rk+".profile", "%q is not one of %s", r.Profile, strings.Join(profiles, ", "))
		}
		if r.MaxFPS < 0 || r.MaxFPS > 240 {
			add(rk+".max_fps", "must be between 0 (keep the input's) and 240, got %d", r.MaxFPS)
		}
	}
	if l.Audio.Bitrate < 8000 {
		add(key+".audio.bitrate", "must be at least 8000 bits/s, got %d", l.Audio.Bitrate)
	}
	if l.Audio.SampleRate < 8000 || l.Audio.SampleRate > 96000 {
		add(key+".audio.sample_rate", "must be between 8000 and 96000 Hz, got %d", l.Audio.SampleRate)
	}
	if l.Audio.Channels < 1 || l.Audio.Channels > 8 {
		add(key+".audio.channels", "must be between 1 and 8, got %d", l.Audio.Channels)
	}
	if !slices.Contains(presets, l.Preset) {
		add(key+".preset", "%q is not an x264 preset (%s)", l.Preset, strings.Join(presets, ", "))
	}
	if l.Tune != "" && !slices.Contains(tunes, l.Tune) {
		add(key+".tune", "%q is not an x264 tune (%s)", l.Tune, strings.Join(tunes, ", "))
	}
	return errs
}

// CheckLogging validates the log settings (shared by serve and edge).
func CheckLogging(level, format string) []error {
	var errs []error
	if !slices.Contains(logLevels, level) {
		errs = append(errs, fmt.Errorf("log_level: %q is not one of %s", level, strings.Join(logLevels, ", ")))
	}
	if !slices.Contains(logFormats, format) {
		errs = append(errs, fmt.Errorf("log_format: %q is not one of %s", format, strings.Join(logFormats, ", ")))
	}
	return errs
}

// checkAddr accepts a listen address "host:port" (host may be empty).
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a listen address like \":8080\" or \"127.0.0.1:8080\": %w", addr, err)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has an invalid host %q", addr, host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port %q (want 0-65535)", addr, port)
	}
	return nil
}

// sameTCPPort reports whether two valid listen addresses would collide.
func sameTCPPort(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	return ha == hb || ha == "" || hb == "" || ha == "0.0.0.0" || hb == "0.0.0.0" || ha == "::" || hb == "::"
}

// checkBaseURL accepts an absolute http(s) URL with a host and no query or fragment.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http:// or https:// URL, e.g. https://video.example.com", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must not have a query, fragment or user info", raw)
	}
	return nil
}

// checkOrigin accepts "" (no CORS header), "*" or one http(s) origin.
func checkOrigin(origin string) error {
	if origin == "" || origin == "*" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must be \"*\", empty, or an origin like https://app.example.com", origin)
	}
	return nil
}
