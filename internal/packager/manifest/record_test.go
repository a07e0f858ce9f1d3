package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/hls"
)

func sampleView() *View {
	p1 := Period{ID: 10, Start: 1000 * time.Second}
	p2 := Period{ID: 12, Start: 1004 * time.Second}
	seg := func(n uint64, p Period, disc bool, gap bool) *Segment {
		t := uint64(n) * 180000
		return &Segment{N: n, Disc: disc, DSeq: 1, InitV: 3, Period: p, Lead: "720p", Entries: []Entry{
			{Name: "720p", Kind: media.Video, TS: 90000, T: t, D: 180000},
			{Name: "audio", Kind: media.Audio, TS: 48000, T: t / 90000 * 48000, D: 96000, Gap: gap},
		}}
	}
	hole := func(r *Segment) *Segment {
		r.Hole = true
		r.Entries[0].Gap = true
		return r
	}
	return &View{
		SegDur: 2 * time.Second, MaxSegDur: 2 * time.Second, Dir: "s4",
		Tracks: []Stream{{Name: "720p", Kind: media.Video, TS: 90000}, {Name: "audio", Kind: media.Audio, TS: 48000}},
		Rends: map[string]*Rendition{
			"720p":  {Name: "720p", Codecs: "avc1.64001f", Width: 1280, Height: 720, Bandwidth: 3000000, FrameRate: 30},
			"audio": {Name: "audio", Codecs: "mp4a.40.2", SampleRate: 48000, Channels: 2, Bandwidth: 128000, Language: "en"},
		},
		Window:    []*Segment{seg(10, p1, false, false), seg(11, p1, false, true), hole(seg(12, p1, false, true)), seg(13, p2, true, false)},
		Frozen:    []Frozen{{Name: "1080p", Playlist: &hls.MediaPlaylist{TargetDuration: 2, MediaSequence: 9}}},
		Published: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC),
	}
}

// A Record, through JSON, gives back the View it was encoded from.
func TestRecordRoundTrip(t *testing.T) {
	v := sampleView()
	data, err := json.Marshal(Encode(v, true))
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if !r.Live || r.Dir != "s4" {
		t.Errorf("record live %v dir %q", r.Live, r.Dir)
	}
	got, err := r.View()
	if err != nil {
		t.Fatal(err)
	}
	// Size and Count are not persisted: the manifests do not need them.
	if !reflect.DeepEqual(got, v) {
		t.Errorf("round trip changed the view:\n got %+v\nwant %+v", got, v)
	}
	if !strings.Contains(string(data), `"p":10`) || strings.Count(string(data), `"start"`) != 2 {
		t.Errorf("periods are not stored once each: %s", data)
	}
}

func TestRecordRejectsBroken(t *testing.T) {
	good, err := json.Marshal(Encode(sampleView(), true))
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Record){
		"no segments":        func(r *Record) { r.Window = nil },
		"bad dir":            func(r *Record) { r.Dir = "../x" },
		"bad stream name":    func(r *Record) { r.Streams[0].Name = "a/b" },
		"zero timescale":     func(r *Record) { r.Streams[1].Timescale = 0 },
		"track out of range": func(r *Record) { r.Tracks[0] = 9 },
		"missing period":     func(r *Record) { r.Periods = r.Periods[:1] },
		"lead out of range":  func(r *Record) { r.Window[0].Lead = 5 },
		"short entry":        func(r *Record) { r.Window[1].E[0] = r.Window[1].E[0][:2] },
		"undescribed":        func(r *Record) { r.Renditions = r.Renditions[:1] },
		"null rendition":     func(r *Record) { r.Renditions[0] = nil },
		"frozen no playlist": func(r *Record) { r.Frozen[0].Playlist = nil },
	} {
		var r Record
		if err := json.Unmarshal(good, &r); err != nil {
			t.Fatal(err)
		}
		edit(&r)
		if _, err := r.View(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
