package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/clip"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// fakeClipper is a Clipper whose answer a test sets.
type fakeClipper struct {
	clip  func(ctx context.Context, channelID string, req clip.Request) (clip.Result, error)
	calls int
}

func (f *fakeClipper) Clip(ctx context.Context, channelID string, req clip.Request) (clip.Result, error) {
	f.calls++
	return f.clip(ctx, channelID, req)
}

var (
	clipStart = time.Date(2026, 12, 7, 21, 0, 0, 500_000_000, time.UTC)
	clipEnd   = clipStart.Add(20 * time.Second)
	clipBody  = fmt.Sprintf(`{"start":%q,"end":%q,"title":"Goal"}`, clipStart.Format(time.RFC3339Nano), clipEnd.Format(time.RFC3339Nano))
)

func TestCreateClip(t *testing.T) {
	t.Parallel()
	ready := t0.Add(time.Minute)
	f := &fakeClipper{clip: func(ctx context.Context, channelID string, req clip.Request) (clip.Result, error) {
		if ctx.Err() != nil || channelID != chA.ID || !req.Start.Equal(clipStart) || !req.End.Equal(clipEnd) || req.Title != "Goal" {
			return clip.Result{}, fmt.Errorf("unexpected call %s %+v", channelID, req)
		}
		a := catalog.Asset{ID: "as_clip", Title: req.Title, Status: catalog.AssetReady, Duration: 22 * time.Second,
			Source: catalog.AssetSource{Origin: clip.OriginClip}, CreatedAt: t0, UpdatedAt: ready, ReadyAt: ready,
			Output: catalog.AssetOutput{Renditions: []catalog.AssetRendition{{Name: "720p", Kind: "video", Height: 720}}}}
		return clip.Result{Asset: a, Start: clipStart.Add(-500 * time.Millisecond), End: clipEnd.Add(1500 * time.Millisecond)}, nil
	}}
	e := newTestEnv(t, []catalog.Channel{chA}, withWindows, func(d *Deps) { d.Clips = f })
	w := e.do("POST", "/api/v1/channels/"+chA.ID+"/clips", clipBody)
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if loc := w.Header().Get("Location"); loc != "/api/v1/assets/as_clip" {
		t.Fatalf("Location %q", loc)
	}
	got := decode[ClipResponse](t, w)
	if got.AssetID != "as_clip" || got.ID != "as_clip" || got.Status != "ready" || got.Duration != 22 || got.Source.Origin != "clip" ||
		got.Playback == nil || got.Playback.HLS != "http://example.com:8080/vod/as_clip/index.m3u8" || len(got.Renditions) != 1 {
		t.Fatalf("asset part %+v", got)
	}
	want := ClipSpan{ChannelID: chA.ID, RequestedStart: clipStart, RequestedEnd: clipEnd,
		Start: clipStart.Add(-500 * time.Millisecond), End: clipEnd.Add(1500 * time.Millisecond), Precision: "segment-start,frame-end"}
	if got.Clip != want {
		t.Fatalf("clip %+v, want %+v", got.Clip, want)
	}

	// Without a title, the clip is named after the channel and its start.
	f.clip = func(_ context.Context, _ string, req clip.Request) (clip.Result, error) {
		if req.Title != "Clip of Alpha, 2026-12-07T21:00:00Z" {
			return clip.Result{}, fmt.Errorf("title %q", req.Title)
		}
		return clip.Result{Asset: catalog.Asset{ID: "as_2", Status: catalog.AssetReady}}, nil
	}
	body := fmt.Sprintf(`{"start":%q,"end":%q}`, clipStart.Format(time.RFC3339Nano), clipEnd.Format(time.RFC3339Nano))
	if w := e.do("POST", "/api/v1/channels/"+chA.ID+"/clips", body); w.Code != http.StatusCreated {
		t.Fatalf("without title: %d %s", w.Code, w.Body)
	}
}

func TestCreateClipErrors(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	to := time.Date(2026, 12, 7, 21, 0, 0, 250_000_000, time.UTC)
	span := func(start, end string) string { return fmt.Sprintf(`{"start":%q,"end":%q}`, start, end) }
	tests := []struct {
		name, channel, body string
		answer              error // the clipper's; nil: must not be called
		status              int
		code, msg           string
	}{
		{"never live", chA.ID, clipBody, fmt.Errorf("reading: %w", clip.ErrNeverLive), 409, CodeNotLive, "has no stored segments to clip"},
		{"outside the window", chA.ID, clipBody, fmt.Errorf("span: %w", &clip.WindowError{From: from, To: to}), 422, CodeOutsideWindow,
			"outside the channel's DVR window, which is 2026-12-07T19:00:00Z to 2026-12-07T21:00:00.25Z now"},
		{"longer than the window", chA.ID, span("2026-12-07T18:00:00Z", "2026-12-07T21:00:00Z"), nil, 422, CodeOutsideWindow,
			"the clip is 3h0m0s long, longer than the channel's DVR window of 2h"},
		{"end before start", chA.ID, span("2026-12-07T21:00:00Z", "2026-12-07T20:00:00Z"), nil, 400, CodeInvalidArgument, "end (2026-12-07T20:00:00Z) must be after start"},
		{"end equals start", chA.ID, span("2026-12-07T21:00:00Z", "2026-12-07T21:00:00Z"), nil, 400, CodeInvalidArgument, "must be after start"},
		{"malformed start", chA.ID, span("yesterday", "2026-12-07T20:00:00Z"), nil, 400, CodeInvalidArgument, `start "yesterday" is not an RFC 3339 time`},
		{"no zone", chA.ID, span("2026-12-07T21:00:00", "2026-12-07T21:00:20Z"), nil, 400, CodeInvalidArgument, "start \"2026-12-07T21:00:00\" is not an RFC 3339"},
		{"missing end", chA.ID, `{"start":"2026-12-07T21:00:00Z"}`, nil, 400, CodeInvalidArgument, "end is required"},
		{"number", chA.ID, `{"start":1765141200,"end":"2026-12-07T21:00:00Z"}`, nil, 400, CodeInvalidArgument, `field "start" must be a JSON string`},
		{"unknown field", chA.ID, `{"start":"2026-12-07T21:00:00Z","end":"2026-12-07T21:00:20Z","at":1}`, nil, 400, CodeInvalidArgument, `unknown field "at"`},
		{"title too long", chA.ID, fmt.Sprintf(`{"start":"2026-12-07T21:00:00Z","end":"2026-12-07T21:00:20Z","title":"%0101d"}`, 0), nil, 400, CodeInvalidArgument, "title is 101 characters"},
		{"no such channel", "ch_missing", clipBody, nil, 404, CodeNotFound, `channel "ch_missing" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeClipper{clip: func(context.Context, string, clip.Request) (clip.Result, error) {
				if tt.answer == nil {
					return clip.Result{}, errors.New("the clipper should not be called")
				}
				return clip.Result{}, tt.answer
			}}
			e := newTestEnv(t, []catalog.Channel{chA}, withWindows, func(d *Deps) { d.Clips = f })
			wantError(t, e.do("POST", "/api/v1/channels/"+tt.channel+"/clips", tt.body), tt.status, tt.code, tt.msg)
			if tt.answer == nil && f.calls != 0 {
				t.Fatal("the clipper was called")
			}
		})
	}
}

func TestCreateClipWithoutService(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA}, withWindows)
	wantError(t, e.do("POST", "/api/v1/channels/"+chA.ID+"/clips", clipBody), http.StatusServiceUnavailable, CodeUnavailable, "does not make clips")
}

// TestCreateClipNeverLiveRealService: the real clip service over an empty
// store answers 409 and creates no asset.
func TestCreateClipNeverLiveRealService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cat, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.CreateChannel(ctx, chA); err != nil {
		t.Fatal(err)
	}
	svc, err := clip.New(clip.Config{Catalog: cat, Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	a := New(Deps{Catalog: cat, AdminToken: testToken, Clips: svc, DVRWindow: 2 * time.Hour})
	w := (&testEnv{api: a}).do("POST", "/api/v1/channels/"+chA.ID+"/clips", clipBody)
	wantError(t, w, http.StatusConflict, CodeNotLive, "has no stored segments to clip")
	page, err := cat.ListAssets(ctx, catalog.AssetFilter{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("assets after a refused clip: %v, %v", page.Items, err)
	}
}
