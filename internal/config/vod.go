package config

import (
	"fmt"
	"time"
)

// VOD configures the video-on-demand pipeline.
type VOD struct {
	SegmentDuration time.Duration `yaml:"segment_duration"` // target; default 4s
	Ladder          string        `yaml:"ladder"`           // preset name; default "default"
	Concurrency     int           `yaml:"concurrency"`      // jobs run at once on this node; default 1
	MaxAttempts     int           `yaml:"max_attempts"`     // tries per asset before it fails; default 3
	MaxSourceSize   int64         `yaml:"max_source_size"`  // bytes; default 20 GiB
	// AllowPrivateURLs lets POST /api/v1/assets {"source_url"} fetch from
	// loopback, link-local and private addresses (off: no SSRF).
	AllowPrivateURLs bool `yaml:"allow_private_urls"`
	// Inbox watches <data>/inbox: a file that finishes arriving there
	// becomes an asset. Default true.
	Inbox bool `yaml:"inbox"`
	// UploadExpiry is how long an unfinished upload (a tus upload nobody
	// resumes, a partial file a crash left in <data>/uploads) is kept
	// untouched before it is removed; at least 1m; default 24h.
	UploadExpiry time.Duration `yaml:"upload_expiry"`
	// ScratchLimit bounds the bytes of source copies a worker holds at once
	// in <data>/tmp/sources when storage is not a local folder (ffmpeg reads
	// a local copy of an S3 source); 0 = only free disk space limits it
	// (a copy must leave 256 MiB free). Default 0.
	ScratchLimit int64 `yaml:"scratch_limit"`
}

func defaultVOD() VOD {
	return VOD{
		SegmentDuration: 4 * time.Second,
		Ladder:          LadderDefault,
		Concurrency:     1,
		MaxAttempts:     3,
		MaxSourceSize:   20 << 30,
		Inbox:           true,
		UploadExpiry:    24 * time.Hour,
	}
}

// validate checks the vod section; ladders are those of the whole config.
func (v VOD) validate(c Config) []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if d := v.SegmentDuration; d < MinSegmentDuration || d > MaxSegmentDuration {
		add("vod.segment_duration", "must be between %s and %s, got %s", MinSegmentDuration, MaxSegmentDuration, d)
	}
	if _, ok := c.Ladders[v.Ladder]; !ok {
		add("vod.ladder", "no ladder named %q (have %s)", v.Ladder, c.ladderList())
	}
	if v.Concurrency < 1 || v.Concurrency > 64 {
		add("vod.concurrency", "must be between 1 and 64, got %d", v.Concurrency)
	}
	if v.MaxAttempts < 1 || v.MaxAttempts > 25 {
		add("vod.max_attempts", "must be between 1 and 25, got %d", v.MaxAttempts)
	}
	if v.MaxSourceSize < 1 {
		add("vod.max_source_size", "must be positive, got %d", v.MaxSourceSize)
	}
	if v.ScratchLimit < 0 {
		add("vod.scratch_limit", "must not be negative, got %d", v.ScratchLimit)
	}
	if v.UploadExpiry < time.Minute || v.UploadExpiry > 365*24*time.Hour {
		add("vod.upload_expiry", "must be between 1m and 8760h (a year), got %s", v.UploadExpiry)
	}
	return errs
}
