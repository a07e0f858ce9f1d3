package packager

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/asset"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

type probeStream struct {
	Type   string `json:"codec_type"`
	Codec  string `json:"codec_name"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Frames string `json:"nb_read_frames"`
	Tags   struct {
		Language string `json:"language"`
	} `json:"tags"`
}

// probe decodes every frame of the presentation at path with ffprobe
// (of the streams args select). WebVTT files need allowed_extensions.
func probe(t *testing.T, path string, args ...string) []probeStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args = append([]string{"-v", "error", "-allowed_extensions", "ALL", "-count_frames",
		"-show_entries", "stream=codec_type,codec_name,width,height,nb_read_frames:stream_tags=language",
		"-of", "json"}, args...)
	out, err := exec.CommandContext(ctx, "ffprobe", append(args, path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", filepath.Base(path), err, out)
	}
	var res struct {
		Streams []probeStream `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return res.Streams
}

// TestVODPlaysInFFprobe packages a real H.264+AAC clip (with B-frames) into
// a filesystem store and has ffprobe decode the HLS and DASH presentations.
func TestVODPlaysInFFprobe(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe is required (the README's test command installs it)")
	}
	clip := ingesttest.H264Clip(t)
	asc, err := clip.Audio.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	vt := &media.Track{Kind: media.Video, Codec: media.H264, Width: clip.Width, Height: clip.Height, SPS: clip.SPS, PPS: clip.PPS}
	at := &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: clip.Audio.SampleRate, Channels: 2, AudioConfig: asc}
	rends := []Rendition{
		{Name: "240p", Track: vt},
		{Name: "en", Track: at, Language: "en"},
		{Name: "fr", Track: at, Language: "fr", Default: true},
	}

	root := t.TempDir()
	store, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := asset.New(ctx, store, vodPrefix, asset.Config{SegmentDuration: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Begin(rends); err != nil {
		t.Fatal(err)
	}
	shift := 7 * time.Second // timestamps need not start at 0
	videoFrames := 0
	for _, s := range clip.Samples {
		if s.Video {
			videoFrames++
			u := &media.Unit{PTS: s.PTS + shift, DTS: s.DTS + shift, Key: media.IsRandomAccess(media.H264, s.AU), NALUs: s.AU}
			if err := v.WriteUnit(0, u); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for i := 1; i <= 2; i++ {
			if err := v.WriteUnit(i, &media.Unit{PTS: s.PTS + shift, DTS: s.DTS + shift, Key: true, Data: s.Frame}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := v.End(ctx); err != nil {
		t.Fatal(err)
	}
	res := v.Result()
	if res.Segments != 2 || (res.Duration-2*time.Second).Abs() > 40*time.Millisecond {
		t.Fatalf("result %+v", res)
	}
	if err := store.Put(ctx, vodPrefix+"/subs/en.vtt", []byte("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello\n")); err != nil {
		t.Fatal(err)
	}
	if err := asset.Publish(ctx, store, vodPrefix, []asset.Subtitle{{Name: "en", Language: "en", Path: "subs/en.vtt"}}); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(root, filepath.FromSlash(vodPrefix))
	for _, name := range []string{"index.m3u8", "manifest.mpd"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			var video, audio, text []string
			for _, s := range probe(t, path) {
				switch s.Type {
				case "video":
					if s.Codec != "h264" || s.Width != clip.Width || s.Height != clip.Height {
						t.Errorf("video stream %+v", s)
					}
					video = append(video, s.Codec)
				case "audio":
					if s.Codec != "aac" || s.Frames == "0" {
						t.Errorf("audio stream %+v", s)
					}
					audio = append(audio, s.Tags.Language)
				case "subtitle":
					text = append(text, s.Codec)
				}
			}
			// ffmpeg's HLS demuxer ignores WebVTT renditions.
			wantText := map[string]string{"index.m3u8": "", "manifest.mpd": "webvtt"}[name]
			if len(video) != 1 || strings.Join(audio, ",") != "en,fr" || strings.Join(text, ",") != wantText {
				t.Errorf("video streams %v, audio languages %v, text %v", video, audio, text)
			}
			// Counted alone: ffmpeg's DASH demuxer stops short when it reads
			// several streams.
			if v := probe(t, path, "-select_streams", "v"); len(v) != 1 || v[0].Frames != strconv.Itoa(videoFrames) {
				t.Errorf("video: %+v, want %d frames", v, videoFrames)
			}
		})
	}
}
