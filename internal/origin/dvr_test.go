package origin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// dvrT0 is the media start of the DVR test channel's first segment.
var dvrT0 = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)

func dvrAt(s float64) time.Time { return dvrT0.Add(time.Duration(s * float64(time.Second))) }

func rfc(t time.Time) string { return t.UTC().Format(instantLayout) }

// dvrSegments builds n 2 s segments of a ladder of two video renditions
// (720p, 360p; 720p leads) and one audio, numbered from first, from start.
func dvrSegments(first uint64, n int, start time.Time) []*manifest.Segment {
	var segs []*manifest.Segment
	p := manifest.Period{ID: first, Start: time.Duration(start.UnixNano())}
	for i := range n {
		at := start.Add(time.Duration(i) * 2 * time.Second).UnixNano()
		segs = append(segs, &manifest.Segment{
			N: first + uint64(i), InitV: 1, Period: p, Lead: "720p",
			Entries: []manifest.Entry{
				{Name: "720p", Kind: media.Video, TS: 90000, T: timeline.TicksAt(at, 90000), D: 2 * 90000},
				{Name: "360p", Kind: media.Video, TS: 90000, T: timeline.TicksAt(at, 90000), D: 2 * 90000},
				{Name: "audio", Kind: media.Audio, TS: 48000, T: timeline.TicksAt(at, 48000), D: 2 * 48000},
			},
		})
	}
	return segs
}

// putDVRSession stores segs as chunks of 4 (the last open unless ended).
func putDVRSession(t *testing.T, e *env, dir string, segs []*manifest.Segment, ended bool) dvr.Session {
	t.Helper()
	tracks := []manifest.Stream{{Name: "720p", Kind: media.Video, TS: 90000}, {Name: "360p", Kind: media.Video, TS: 90000}, {Name: "audio", Kind: media.Audio, TS: 48000}}
	rends := map[string]*manifest.Rendition{
		"720p":  {Name: "720p", Codecs: "avc1.64001f", Width: 1280, Height: 720, Bandwidth: 3_000_000, FrameRate: 30},
		"360p":  {Name: "360p", Codecs: "avc1.64001e", Width: 640, Height: 360, Bandwidth: 800_000, FrameRate: 30},
		"audio": {Name: "audio", Codecs: "mp4a.40.2", SampleRate: 48000, Channels: 2, Bandwidth: 128_000},
	}
	s := dvr.Session{Dir: dir, Ended: ended}
	for i := 0; i < len(segs); i += 4 {
		part := segs[i:min(i+4, len(segs))]
		v := &manifest.View{SegDur: 2 * time.Second, MaxSegDur: 2 * time.Second, Tracks: tracks, Rends: rends, Window: part, Dir: dir}
		data, err := dvr.EncodeChunk(v)
		if err != nil {
			t.Fatal(err)
		}
		e.put(t, "live/ch/"+dvr.ChunkKey(dir, part[0].N), string(data))
		ref := dvr.ChunkRef{First: part[0].N, Start: time.Unix(0, int64(part[0].Start())).UTC()}
		if len(part) == 4 || ended {
			last := part[len(part)-1]
			le := last.Entry(last.Lead)
			ref.Last, ref.End = last.N, timeline.Time(le.T+le.D, le.TS)
		}
		s.Chunks = append(s.Chunks, ref)
	}
	return s
}

// dvrEnv is an origin over a channel "ch" with two sessions: s1, segments
// 1–10 (t0 to t0+20 s, ended), and s2, segments 11–20 (t0+30 s to t0+50 s,
// live). Its clock reads t0+51 s; its live source fails the test if asked.
func dvrEnv(t *testing.T) (*env, *fakeSource) {
	t.Helper()
	src := &fakeSource{}
	e := liveEnv(t, src)
	e.o.now = func() time.Time { return dvrAt(51) }
	s1 := putDVRSession(t, e, "s1", dvrSegments(1, 10, dvrT0), true)
	s2 := putDVRSession(t, e, "s2", dvrSegments(11, 10, dvrAt(30)), false)
	data, err := (&dvr.Catalog{Sessions: []dvr.Session{s1, s2}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, "live/ch/"+dvr.CatalogKey, string(data))
	e.put(t, "live/ch/index.m3u8", "#EXTM3U\n# the live multivariant\n")
	e.put(t, "live/ch/s1/720p/3.m4s", "segment 3")
	return e, src
}

func spanQuery(start, end time.Time) string {
	q := "start=" + rfc(start)
	if !end.IsZero() {
		q += "&end=" + rfc(end)
	}
	return q
}

var segLine = regexp.MustCompile(`(?m)^(\d+)\.m4s$`)

func TestDVRMediaPlaylist(t *testing.T) {
	t.Parallel()
	e, src := dvrEnv(t)
	tests := []struct {
		name    string
		path    string
		segs    string // segment numbers listed, space-separated
		typ     string // EXT-X-PLAYLIST-TYPE
		endList bool
		cc      string
	}{
		{"closed span", "/live/ch/s1/720p/index.m3u8?" + spanQuery(dvrAt(3), dvrAt(9)), "2 3 4 5", "VOD", true, ccDVRClosed},
		{"closed span, epoch seconds", fmt.Sprintf("/live/ch/s1/360p/index.m3u8?start=%d.5&end=%d", dvrAt(3).Unix(), dvrAt(9).Unix()), "2 3 4 5", "VOD", true, ccDVRClosed},
		{"open span of the live session", "/live/ch/s2/720p/index.m3u8?" + spanQuery(dvrAt(41), time.Time{}), "16 17 18 19 20", "EVENT", false, "public, max-age=1"},
		{"end ahead of the newest segment", "/live/ch/s2/audio/index.m3u8?" + spanQuery(dvrAt(41), dvrAt(70)), "16 17 18 19 20", "EVENT", false, "public, max-age=1"},
		{"open span of an ended session", "/live/ch/s1/720p/index.m3u8?" + spanQuery(dvrAt(15), time.Time{}), "8 9 10", "VOD", true, ccDVRClosed},
		{"start before the window: from its start", "/live/ch/s1/720p/index.m3u8?" + spanQuery(dvrAt(-60), dvrAt(5)), "1 2 3", "VOD", true, ccEnded},
	}
	for _, tt := range tests {
		w := e.do(http.MethodGet, tt.path)
		if w.Code != http.StatusOK {
			t.Errorf("%s: status %d: %s", tt.name, w.Code, w.Body)
			continue
		}
		body := w.Body.String()
		var got []string
		for _, m := range segLine.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != tt.segs {
			t.Errorf("%s: segments %v, want %s\n%s", tt.name, got, tt.segs, body)
		}
		if !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:"+tt.typ+"\n") || strings.Contains(body, "#EXT-X-ENDLIST") != tt.endList {
			t.Errorf("%s: want type %s, ENDLIST %v:\n%s", tt.name, tt.typ, tt.endList, body)
		}
		if n := strings.Count(body, "#EXT-X-PROGRAM-DATE-TIME:"); n != len(got) {
			t.Errorf("%s: %d program date times for %d segments", tt.name, n, len(got))
		}
		if !strings.Contains(body, "#EXT-X-START:TIME-OFFSET=0.001\n") {
			t.Errorf("%s: no EXT-X-START", tt.name)
		}
		var pl playlist.Media
		if err := pl.Unmarshal([]byte(body)); err != nil || pl.Start == nil || pl.Start.TimeOffset != time.Millisecond {
			t.Errorf("%s: gohlslib reads %+v, %v", tt.name, pl.Start, err)
		}
		wantHeader(t, w, "Cache-Control", tt.cc)
		wantHeader(t, w, "Content-Type", "application/vnd.apple.mpegurl")
	}
	if n := src.asked.Load(); n != 0 {
		t.Errorf("the live source was asked %d times", n)
	}
}

// Once end has passed long ago without the index reaching it (a stalled
// channel), the span closes, but is cached only briefly.
func TestDVRLateClose(t *testing.T) {
	t.Parallel()
	e, _ := dvrEnv(t)
	e.o.now = func() time.Time { return dvrAt(120) }
	w := e.do(http.MethodGet, "/live/ch/s2/720p/index.m3u8?"+spanQuery(dvrAt(41), dvrAt(60)))
	wantStatus(t, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), "#EXT-X-ENDLIST") {
		t.Errorf("not closed:\n%s", w.Body)
	}
	wantHeader(t, w, "Cache-Control", ccEnded)
}

func TestDVRMultivariant(t *testing.T) {
	t.Parallel()
	e, _ := dvrEnv(t)
	q := spanQuery(dvrAt(3), dvrAt(9))
	w := e.do(http.MethodGet, "/live/ch/index.m3u8?"+q)
	wantStatus(t, w, http.StatusOK)
	body := w.Body.String()
	for _, want := range []string{
		"\ns1/720p/index.m3u8?" + q + "\n",
		"\ns1/360p/index.m3u8?" + q + "\n",
		`URI="s1/audio/index.m3u8?` + q + `"`,
		"#EXT-X-START:TIME-OFFSET=0.001\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("multivariant lacks %q:\n%s", want, body)
		}
	}
	wantHeader(t, w, "Cache-Control", ccDVRClosed)
	var mv playlist.Multivariant
	if err := mv.Unmarshal([]byte(body)); err != nil || len(mv.Variants) != 2 {
		t.Errorf("gohlslib reads %d variants, %v", len(mv.Variants), err)
	}

	// The manifest filter composes: 360p only, the span still carried.
	w = e.do(http.MethodGet, "/live/ch/index.m3u8?max_height=400&"+q)
	wantStatus(t, w, http.StatusOK)
	if body := w.Body.String(); strings.Contains(body, "720p") || !strings.Contains(body, "\ns1/360p/index.m3u8?"+q+"\n") {
		t.Errorf("filtered multivariant:\n%s", body)
	}
	// An open span is cached like live.
	w = e.do(http.MethodGet, "/live/ch/index.m3u8?start="+rfc(dvrAt(31)))
	wantStatus(t, w, http.StatusOK)
	wantHeader(t, w, "Cache-Control", "public, max-age=1")
	if !strings.Contains(w.Body.String(), "\ns2/720p/index.m3u8?start=") {
		t.Errorf("open multivariant:\n%s", w.Body)
	}
	// Without the parameters, or with end alone (even a malformed one):
	// the stored live playlist.
	for _, q := range []string{"", "?end=" + rfc(dvrAt(9)), "?end=x&legend=start", "?xstart=1&end=x"} {
		w = e.do(http.MethodGet, "/live/ch/index.m3u8"+q)
		if w.Body.String() != "#EXTM3U\n# the live multivariant\n" {
			t.Errorf("live multivariant%s: %d %q", q, w.Code, w.Body)
		}
	}
}

func TestDVRMPD(t *testing.T) {
	t.Parallel()
	e, src := dvrEnv(t)
	w := e.do(http.MethodGet, "/live/ch/manifest.mpd?"+spanQuery(dvrAt(3), dvrAt(9)))
	wantStatus(t, w, http.StatusOK)
	body := w.Body.String()
	for _, want := range []string{`type="static"`, `mediaPresentationDuration="PT8S"`, `media="s1/$RepresentationID$/$Number$.m4s"`, `startNumber="2"`} {
		if !strings.Contains(body, want) {
			t.Errorf("closed MPD lacks %s:\n%s", want, body)
		}
	}
	wantHeader(t, w, "Cache-Control", ccDVRClosed)
	if _, err := mpd.ReadFromString(body); err != nil {
		t.Errorf("dash-mpd reads the closed MPD: %v", err)
	}
	again := e.do(http.MethodGet, "/live/ch/manifest.mpd?"+spanQuery(dvrAt(3), dvrAt(9)))
	if again.Header().Get("ETag") != w.Header().Get("ETag") {
		t.Errorf("a closed MPD changes between requests: ETag %s then %s", w.Header().Get("ETag"), again.Header().Get("ETag"))
	}

	w = e.do(http.MethodGet, "/live/ch/manifest.mpd?start="+rfc(dvrAt(41)))
	wantStatus(t, w, http.StatusOK)
	body = w.Body.String()
	// The DVR window is 50 s: 26 segments of 2 s cover it.
	for _, want := range []string{`type="dynamic"`, `timeShiftBufferDepth="PT52S"`, `startNumber="16"`, `/time`} {
		if !strings.Contains(body, want) {
			t.Errorf("open MPD lacks %s:\n%s", want, body)
		}
	}
	wantHeader(t, w, "Cache-Control", "public, max-age=1")
	if n := src.asked.Load(); n != 0 {
		t.Errorf("the live source was asked %d times", n)
	}
}

func TestDVRErrors(t *testing.T) {
	t.Parallel()
	e, _ := dvrEnv(t)
	tests := []struct {
		name   string
		path   string
		status int
		msg    string // in the body
	}{
		{"malformed start", "/live/ch/index.m3u8?start=yesterday", 400, "start:"},
		{"malformed end", "/live/ch/manifest.mpd?start=" + rfc(dvrAt(3)) + "&end=2026-13-01T00:00:00Z", 400, "end:"},
		{"end before start", "/live/ch/s1/720p/index.m3u8?start=" + rfc(dvrAt(9)) + "&end=" + rfc(dvrAt(3)), 400, "end: must be after start"},
		{"end equals start", "/live/ch/index.m3u8?start=1&end=1", 400, "end: must be after start"},
		{"start twice", "/live/ch/index.m3u8?start=1&start=2", 400, "start: given more than once"},
		{"empty start", "/live/ch/index.m3u8?start=", 400, "start:"},
		{"fraction too long", "/live/ch/index.m3u8?start=1.0000000001", 400, "start:"},
		{"span before the window", "/live/ch/index.m3u8?" + spanQuery(dvrAt(-600), dvrAt(-300)), 422, "2026-12-07T20:00:00.000Z – 2026-12-07T20:00:50.000Z"},
		{"start in the future", "/live/ch/s2/720p/index.m3u8?start=" + rfc(dvrAt(3600)), 422, "outside the DVR window"},
		{"in a gap between sessions", "/live/ch/index.m3u8?" + spanQuery(dvrAt(22), dvrAt(28)), 404, "no media"},
		{"no DVR index", "/live/other/index.m3u8?start=" + rfc(dvrAt(3)), 404, "no DVR window"},
		{"another session's playlist", "/live/ch/s2/720p/index.m3u8?" + spanQuery(dvrAt(3), dvrAt(9)), 404, "no such rendition"},
		{"unknown rendition", "/live/ch/s1/1080p/index.m3u8?" + spanQuery(dvrAt(3), dvrAt(9)), 404, "no such rendition"},
		{"bad filter with a span", "/live/ch/index.m3u8?max_height=x&" + spanQuery(dvrAt(3), dvrAt(9)), 400, "max_height"},
	}
	for _, tt := range tests {
		w := e.do(http.MethodGet, tt.path)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.msg) {
			t.Errorf("%s: %d %q, want %d with %q", tt.name, w.Code, w.Body, tt.status, tt.msg)
		}
		if cc := w.Header().Get("Cache-Control"); tt.status != 404 && cc != ccError || tt.status == 404 && cc != ccNotFound {
			t.Errorf("%s: Cache-Control %q", tt.name, cc)
		}
	}
}

// Segments ignore the parameters; other keys are served as stored.
func TestDVRSegmentsIgnoreParams(t *testing.T) {
	t.Parallel()
	e, _ := dvrEnv(t)
	w := e.do(http.MethodGet, "/live/ch/s1/720p/3.m4s?start=garbage")
	wantStatus(t, w, http.StatusOK)
	if w.Body.String() != "segment 3" {
		t.Errorf("segment: %q", w.Body)
	}
}

func TestDVRWindowJSON(t *testing.T) {
	t.Parallel()
	e, _ := dvrEnv(t)
	w := e.do(http.MethodGet, "/live/ch/"+dvrWindowName)
	wantStatus(t, w, http.StatusOK)
	var got dvrWindow
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.From != "2026-12-07T20:00:00.000Z" || got.To != "2026-12-07T20:00:50.000Z" {
		t.Errorf("window %+v", got)
	}
	wantHeader(t, w, "Content-Type", "application/json")
	wantHeader(t, w, "Cache-Control", "public, max-age=1")
	wantHeader(t, w, "Access-Control-Allow-Origin", "*")
	// The times it names are valid spans.
	w = e.do(http.MethodGet, "/live/ch/index.m3u8?start="+got.From)
	wantStatus(t, w, http.StatusOK)

	w = e.do(http.MethodGet, "/live/other/"+dvrWindowName)
	wantStatus(t, w, http.StatusNotFound)
	// Other JSON objects are still not served.
	w = e.do(http.MethodGet, "/live/ch/"+dvr.CatalogKey)
	wantStatus(t, w, http.StatusNotFound)
	w = e.do(http.MethodGet, "/live/ch/s1/"+dvrWindowName)
	wantStatus(t, w, http.StatusNotFound)
}

func TestParseInstant(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-12-07T20:00:03.250Z", dvrAt(3.25), true},
		{"2026-12-07T21:00:03.250+01:00", dvrAt(3.25), true},
		{"2026-12-07T21:00:03.250 01:00", dvrAt(3.25), true}, // an unescaped "+"
		{"2026-12-07T20:00:03Z", dvrAt(3), true},
		{fmt.Sprint(dvrAt(3).Unix()), dvrAt(3), true},
		{fmt.Sprint(dvrAt(3).Unix()) + ".25", dvrAt(3.25), true},
		{"", time.Time{}, false},
		{"-5", time.Time{}, false},
		{"1e9", time.Time{}, false},
		{"123.", time.Time{}, false},
		{"123456789012", time.Time{}, false},
		{"2026-12-07", time.Time{}, false},
		{"0800-01-01T00:00:00Z", time.Time{}, false},
	} {
		got, err := parseInstant(tt.in)
		if (err == nil) != tt.ok || tt.ok && !got.Equal(tt.want) {
			t.Errorf("parseInstant(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCarryQuery(t *testing.T) {
	t.Parallel()
	in := "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"a\",URI=\"s1/a/index.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\ns1/v/index.m3u8\n"
	want := "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"a\",URI=\"s1/a/index.m3u8?q=1\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\ns1/v/index.m3u8?q=1\n"
	if got := string(carryQuery([]byte(in), "q=1")); got != want {
		t.Errorf("carryQuery:\n%s\nwant\n%s", got, want)
	}
	_ = context.Background
}

// The DVR index head (dvr.json, the newest chunk) read for one request
// answers the next ones for a quarter of a segment, not longer.
func TestDVRIndexReuse(t *testing.T) {
	t.Parallel()
	e, _ := dvrEnv(t)
	get := func() dvrWindow {
		t.Helper()
		w := e.do(http.MethodGet, "/live/ch/"+dvrWindowName)
		wantStatus(t, w, http.StatusOK)
		var got dvrWindow
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	// The index loses session s2: a reload within the reuse time still
	// answers from the head read before. (Tried again if the machine was
	// too slow to make both requests within the reuse time.)
	s1 := putDVRSession(t, e, "s1", dvrSegments(1, 10, dvrT0), true)
	s2 := putDVRSession(t, e, "s2", dvrSegments(11, 10, dvrAt(30)), false)
	full, err := (&dvr.Catalog{Sessions: []dvr.Session{s1, s2}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	shorter, err := (&dvr.Catalog{Sessions: []dvr.Session{s1}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		e.put(t, "live/ch/"+dvr.CatalogKey, string(full))
		time.Sleep(dvrIndexReuse(0)) // the head read by an earlier attempt is stale
		began := time.Now()
		first := get()
		e.put(t, "live/ch/"+dvr.CatalogKey, string(shorter))
		again := get()
		if time.Since(began) >= dvrIndexReuse(0)*4/5 && attempt < 3 {
			continue
		}
		if first.To != "2026-12-07T20:00:50.000Z" || again != first {
			t.Errorf("a request right after %+v answered %+v, want the same", first, again)
		}
		break
	}
	for _, tt := range []struct{ seg, want time.Duration }{
		{0, 500 * time.Millisecond}, {2 * time.Second, 500 * time.Millisecond}, {time.Second, 250 * time.Millisecond}, {6 * time.Second, 1500 * time.Millisecond},
	} {
		if got := dvrIndexReuse(tt.seg); got != tt.want {
			t.Errorf("dvrIndexReuse(%v) = %v, want %v", tt.seg, got, tt.want)
		}
	}
}
