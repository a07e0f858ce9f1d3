package readcache

import (
	"path"
	"strings"
)

// DefaultImmutable reports whether key is an object the packagers and the
// VoD pipeline never rewrite under the same key: below live/ or vod/, a
// media segment (.m4s, .m4a, .ts), an init segment or other MP4 (.mp4; live
// init segments are versioned, init-{v}.mp4), a WebVTT file (.vtt: VoD
// subtitles have a random suffix, the thumbnails track is written once) or
// a JPEG (.jpg, .jpeg: VoD posters and sprite sheets). Manifests (.m3u8,
// .mpd), packager state (.json) and anything else are not: they change in
// place.
func DefaultImmutable(key string) bool {
	if !strings.HasPrefix(key, "live/") && !strings.HasPrefix(key, "vod/") {
		return false
	}
	switch path.Ext(key) {
	case ".m4s", ".m4a", ".ts", ".mp4", ".vtt", ".jpg", ".jpeg":
		return true
	}
	return false
}
