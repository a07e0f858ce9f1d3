package readcache_test

import (
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage/readcache"
)

func TestDefaultImmutable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want bool
	}{
		{"live/ch_1/s3/720p/42.m4s", true},
		{"live/ch_1/s3/720p/init-2.mp4", true},
		{"vod/as_1/720p/init-1.mp4", true},
		{"vod/as_1/audio/7.m4a", true},
		{"vod/as_1/subs/en-ab12.vtt", true},
		{"vod/as_1/thumbs/thumbnails.vtt", true},
		{"vod/as_1/thumbs/poster.jpg", true},
		{"vod/as_1/thumbs/sprite-0.jpeg", true},
		{"live/ch_1/index.m3u8", false},
		{"live/ch_1/manifest.mpd", false},
		{"live/ch_1/s3/720p/index.m3u8", false},
		{"live/ch_1/state.json", false},
		{"vod/as_1/vod.json", false},
		{"vod/as_1/subs/en.m3u8", false},
		{"sources/as_1/source", false},
		{"sources/as_1/subs/en.vtt", false},
		{"other/live/ch_1/1.m4s", false},
		{"live.m4s", false},
		{"vod/as_1/poster.png", false},
	}
	for _, tt := range tests {
		if got := readcache.DefaultImmutable(tt.key); got != tt.want {
			t.Errorf("DefaultImmutable(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}
