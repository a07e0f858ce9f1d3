package main

import (
	"encoding/base32"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// idEncoding is catalog.NewID's alphabet, so generated IDs have the shape of
// real ones ("as_" + 16 characters).
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// epoch is the "now" of the generated catalog: the newest asset is just
// before it.
var epoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// span is how far back the oldest generated asset goes.
const span = 2 * 365 * 24 * time.Hour

var (
	titleWords = []string{"Keynote", "Town hall", "Product demo", "Webinar", "Training", "Interview",
		"Match highlights", "Lecture", "Concert", "Trailer", "Episode", "Tutorial", "Q&A", "Launch event",
		"Onboarding", "Panel discussion", "Behind the scenes", "Recap", "Livestream replay", "Short film"}
	titleTails = []string{"Day 1", "Day 2", "part 1", "part 2", "final cut", "draft", "EN", "FR", "4K master",
		"(subtitled)", "v2", "Q3", "spring", "autumn", "backup"}
	failures = []string{
		"the source has no video stream",
		"the source file is not a video ffprobe can read",
		"transcoding failed: ffmpeg exited with status 1 (Invalid data found when processing input)",
		"cancelled",
		"the download stopped: the server answered 403 Forbidden",
	}
	stages = []string{"probe", "transcode", "thumbnails", "publish"}
)

// generator makes a deterministic, realistic mix of assets: newest first in
// time, mostly ready, some failed, a recent tail still queued, importing or
// processing; half from tus uploads (with an upload ID), the rest multipart
// uploads, URL imports and inbox files.
type generator struct {
	rng   *rand.Rand
	n     int // assets to make
	i     int // made so far
	last  time.Time
	jobID int64
}

func newGenerator(seed uint64, n int) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, 0x0c47a10b)), n: n}
}

func (g *generator) id(prefix string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return prefix + idEncoding.EncodeToString(b)
}

// createdAt spreads assets over span, denser towards epoch (a catalog that
// grows), with 1 % sharing the previous asset's instant (a batch imported
// at once; ListAssets orders those by ID).
func (g *generator) createdAt() time.Time {
	if g.i > 0 && g.rng.IntN(100) == 0 {
		return g.last
	}
	u := g.rng.Float64()
	age := time.Duration((1 - u*u) * float64(span)) // density grows linearly towards epoch
	return epoch.Add(-age).Truncate(time.Microsecond)
}

// next returns the next asset.
func (g *generator) next() catalog.Asset {
	created := g.createdAt()
	g.last = created
	g.i++
	g.jobID++
	a := catalog.Asset{
		ID:        g.id("as_", 10),
		Title:     fmt.Sprintf("%s %d — %s", titleWords[g.rng.IntN(len(titleWords))], 1+g.rng.IntN(400), titleTails[g.rng.IntN(len(titleTails))]),
		Attempts:  1,
		JobID:     g.jobID,
		CreatedAt: created,
		Duration:  time.Duration(30+g.rng.IntN(7200)) * time.Second,
	}
	g.source(&a)
	g.outcome(&a)
	return a
}

func (g *generator) source(a *catalog.Asset) {
	a.Source.Size = int64(5<<20 + g.rng.IntN(4<<30))
	a.Source.Key = "sources/" + a.ID
	switch r := g.rng.IntN(100); {
	case r < 50:
		a.Source.Origin = "tus"
		a.UploadID = g.id("", 16)
		a.Source.Filename = fmt.Sprintf("IMG_%04d.MOV", g.rng.IntN(10000))
	case r < 80:
		a.Source.Origin = "multipart"
		a.Source.Filename = fmt.Sprintf("recording-%d.mp4", g.rng.IntN(100000))
	case r < 95:
		a.Source.Origin = "url"
		a.Source.Filename = "master.mp4"
		a.Source.URL = fmt.Sprintf("https://media.example.com/exports/%d/master.mp4?X-Amz-Signature=REDACTED", g.rng.IntN(1e6))
	default:
		a.Source.Origin = "inbox"
		a.Source.Filename = fmt.Sprintf("camera-%02d/clip-%05d.mxf", g.rng.IntN(8), g.rng.IntN(100000))
	}
}

// outcome sets the status and what goes with it. The newest 0.5 % of
// the catalog's time span is still in the pipeline.
func (g *generator) outcome(a *catalog.Asset) {
	secs := a.Duration.Seconds()
	a.Source.Probe = fmt.Sprintf("h264 1920x1080 29.97fps, aac 2ch, %.1fs", secs)
	if epoch.Sub(a.CreatedAt) < span/200 {
		switch r := g.rng.IntN(10); {
		case r < 3:
			a.Status, a.Source.Probe = catalog.AssetQueued, ""
		case r < 4 && a.Source.Origin == "url":
			a.Status, a.Stage, a.Source.Probe = catalog.AssetImporting, "download", ""
			a.Progress = float64(g.rng.IntN(100))
		case r < 8:
			a.Status, a.Stage = catalog.AssetProcessing, stages[g.rng.IntN(len(stages))]
			a.Progress = float64(g.rng.IntN(1000)) / 10
		}
		if a.Status != "" {
			a.UpdatedAt = a.CreatedAt.Add(time.Duration(g.rng.IntN(600)) * time.Second)
			return
		}
	}
	took := time.Duration(secs*0.8*float64(time.Second)) + 5*time.Second
	a.UpdatedAt = a.CreatedAt.Add(took)
	if g.rng.IntN(100) < 6 {
		a.Status, a.Error = catalog.AssetFailed, failures[g.rng.IntN(len(failures))]
		a.Attempts = 1 + g.rng.IntN(3)
		return
	}
	a.Status, a.Progress, a.ReadyAt = catalog.AssetReady, 100, a.UpdatedAt
	a.Output = catalog.AssetOutput{
		Renditions: []catalog.AssetRendition{
			{Name: "1080p", Kind: "video", Codec: "avc1.640028", Width: 1920, Height: 1080, Bitrate: 5_000_000},
			{Name: "720p", Kind: "video", Codec: "avc1.64001f", Width: 1280, Height: 720, Bitrate: 2_800_000},
			{Name: "480p", Kind: "video", Codec: "avc1.64001e", Width: 854, Height: 480, Bitrate: 1_400_000},
			{Name: "360p", Kind: "video", Codec: "avc1.64001e", Width: 640, Height: 360, Bitrate: 800_000},
			{Name: "audio", Kind: "audio", Codec: "mp4a.40.2", Bitrate: 128_000, Language: "en"},
		},
		Poster:     "thumbs/poster.jpg",
		Sprite:     "thumbs/sprite-0.jpg",
		Thumbnails: "thumbs/thumbnails.vtt",
	}
	if g.rng.IntN(10) == 0 {
		a.Output.Subtitles = []catalog.AssetSubtitle{{Name: "en", Language: "en", Label: "English", Path: "subs/en.vtt"}}
	}
}
