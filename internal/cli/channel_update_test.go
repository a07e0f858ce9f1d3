package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/clip"
)

func TestChannelUpdate(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, func(d *api.Deps, _ *http.ServeMux) {
		d.DVRWindow, d.LiveWindow = 2*time.Hour, 12*time.Second
	})
	r := s.channel("create", "Stage", "--dvr-window", "90m", "--record")
	id := channelID.FindString(r.stdout)
	if r.code != 0 || id == "" || !matches(`(?m)^DVR window:\s+1h30m$`, r.stdout) || !matches(`(?m)^Record:\s+each session`, r.stdout) {
		t.Fatalf("create --dvr-window 90m --record: %+v", r)
	}

	steps := []struct {
		name string
		args []string
		code int
		want []string // patterns in stdout (code 0) or stderr
		not  string   // a pattern stdout must not have
	}{
		{"rename", []string{"--name", "Main stage"}, 0, []string{`(?m)^Name:\s+Main stage$`, `(?m)^DVR window:\s+1h30m$`, `(?m)^Record:`}, ""},
		{"stop recording", []string{"--no-record"}, 0, []string{`(?m)^Name:\s+Main stage$`}, `(?m)^Record:`},
		{"new window", []string{"--dvr-window", "3h"}, 0, []string{`(?m)^DVR window:\s+3h$`}, ""},
		{"back to the default", []string{"--dvr-window", "0", "--record"}, 0, []string{`(?m)^DVR window:\s+2h \(the server's default\)$`, `(?m)^Record:`}, ""},
		{"nothing to change", nil, 2, []string{`nothing to change: give --name, --dvr-window or --record/--no-record`}, ""},
		{"not a duration", []string{"--dvr-window", "two hours"}, 2, []string{`--dvr-window "two hours" is not a duration`}, ""},
		{"longer than 24h", []string{"--dvr-window", "30h"}, 1, []string{`400: dvr_window must be at most 24h`}, ""},
		{"shorter than the live window", []string{"--dvr-window", "5s"}, 1, []string{`dvr_window must be at least the live window, 12s`}, ""},
		{"name taken", []string{"--name", "Other"}, 1, []string{`a channel named "Other" already exists`}, ""},
	}
	s.channel("create", "Other")
	for _, st := range steps {
		r := s.channel(append([]string{"update", id}, st.args...)...)
		out := r.stdout
		if st.code != 0 {
			out = r.stderr
		}
		if r.code != st.code {
			t.Errorf("%s: exit %d, want %d: %+v", st.name, r.code, st.code, r)
			continue
		}
		for _, w := range st.want {
			if !matches(w, out) {
				t.Errorf("%s: output lacks %s:\n%s", st.name, w, out)
			}
		}
		if st.not != "" && matches(st.not, out) {
			t.Errorf("%s: output has %s:\n%s", st.name, st.not, out)
		}
	}
	if r := s.channel("update", "ch_aaaaaaaaaaaaaaaa", "--record"); r.code != 1 || !strings.Contains(r.stderr, `channel "ch_aaaaaaaaaaaaaaaa" not found`) {
		t.Errorf("update of a missing channel: %+v", r)
	}
	var ch api.Channel
	r = s.channel("get", "--json", id)
	if err := json.Unmarshal([]byte(r.stdout), &ch); err != nil || ch.Name != "Main stage" || ch.DVRWindow != 0 || ch.DVRWindowEffective != 7200 || !ch.Record {
		t.Errorf("channel after the updates: %+v (%v)", ch, err)
	}
}

// fakeClipper answers clips as the clip service would, without media:
// the clip starts at the 2 s boundary at or before the asked start.
type fakeClipper struct {
	mu   sync.Mutex
	asks []clip.Request
}

func (f *fakeClipper) Clip(_ context.Context, channelID string, req clip.Request) (clip.Result, error) {
	f.mu.Lock()
	f.asks = append(f.asks, req)
	f.mu.Unlock()
	start := req.Start.Truncate(2 * time.Second)
	return clip.Result{Start: start, End: req.End, Asset: catalog.Asset{
		ID: "as_clip0000000000001", Title: req.Title, Status: catalog.AssetReady,
		Source: catalog.AssetSource{Origin: "clip"}, Duration: req.End.Sub(start)}}, nil
}

func (f *fakeClipper) requests() []clip.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]clip.Request(nil), f.asks...)
}

func TestChannelClip(t *testing.T) {
	t.Parallel()
	windowEnd := time.Date(2026, 12, 8, 10, 0, 7, 500_000_000, time.UTC)
	clips := &fakeClipper{}
	var liveID string
	s := newServerWith(t, func(d *api.Deps, mux *http.ServeMux) {
		d.Clips = clips
		mux.HandleFunc("GET /live/{id}/dvr-window.json", func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("id") != liveID {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, `{"from":"2026-12-08T09:00:00.000Z","to":%q}`+"\n", windowEnd.Format(time.RFC3339Nano))
		})
	})
	liveID = channelID.FindString(s.channel("create", "Live").stdout)
	idleID := channelID.FindString(s.channel("create", "Idle").stdout)

	r := s.channel("clip", liveID, "--last", "30s", "--title", "Goal")
	if r.code != 0 {
		t.Fatalf("clip --last 30s: %+v", r)
	}
	asks := clips.requests()
	if len(asks) != 1 || !asks[0].End.Equal(windowEnd) || !asks[0].Start.Equal(windowEnd.Add(-30*time.Second)) || asks[0].Title != "Goal" {
		t.Fatalf("clip --last 30s asked the server for %+v; the window ends %s", asks, windowEnd)
	}
	for _, line := range []string{
		`(?m)^Clip of \d\d:\d\d:36\.000 to \d\d:\d\d:07\.500 \(asked \d\d:\d\d:37\.500 to \d\d:\d\d:07\.500\)\.$`,
		`(?m)^ID:\s+as_clip0000000000001$`, `(?m)^Title:\s+Goal$`, `(?m)^Status:\s+ready$`, `(?m)^Duration:\s+0:32$`,
		`(?m)^HLS:\s+` + s.url + `/vod/as_clip0000000000001/index\.m3u8$`,
	} {
		if !matches(line, r.stdout) {
			t.Errorf("clip output lacks %s:\n%s", line, r.stdout)
		}
	}

	r = s.channel("clip", liveID, "--start", "2026-12-08T09:30:00Z", "--end", "2026-12-08T09:30:20.25Z", "--json")
	var ans api.ClipResponse
	if err := json.Unmarshal([]byte(r.stdout), &ans); err != nil || r.code != 0 || ans.AssetID == "" || ans.Clip.RequestedEnd.Format(time.RFC3339Nano) != "2026-12-08T09:30:20.25Z" {
		t.Fatalf("clip --start --end --json: %+v (%v)", r, err)
	}
	r = s.channel("clip", liveID, "--start=-1h")
	if asks := clips.requests(); r.code != 0 || len(asks) != 3 || !asks[2].End.Equal(windowEnd) || time.Since(asks[2].Start.Add(time.Hour)).Abs() > time.Minute {
		t.Fatalf("clip --start -1h: %+v; asked %+v", r, asks)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"neither start nor last", []string{liveID}, 2, "give either --start (with an optional --end) or --last"},
		{"both start and last", []string{liveID, "--start=-1m", "--last", "10s"}, 2, "give either --start"},
		{"last with end", []string{liveID, "--last", "10s", "--end=-5s"}, 2, "--last clips up to the end of the DVR window"},
		{"bad start", []string{liveID, "--start", "yesterday"}, 2, `--start "yesterday" is neither an RFC 3339 time`},
		{"end before start", []string{liveID, "--start=-10s", "--end=-20s"}, 2, "--end (-20s) must be after --start (-10s)"},
		{"start after the window", []string{liveID, "--start", "2026-12-08T11:00:00Z"}, 1, "is not before the end of the DVR window"},
		{"never live", []string{idleID, "--last", "10s"}, 1, "channel " + idleID + " has no DVR window: it has not been live"},
		{"no such channel", []string{"ch_aaaaaaaaaaaaaaaa", "--last", "10s"}, 1, `channel "ch_aaaaaaaaaaaaaaaa" not found`},
	} {
		r := s.channel(append([]string{"clip"}, tt.args...)...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: %+v; want exit %d and %q", tt.name, r, tt.code, tt.want)
		}
	}
	if n := len(clips.requests()); n != 3 {
		t.Errorf("refused invocations reached the clip service: %d clips asked, want 3", n)
	}
}
