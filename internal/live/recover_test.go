package live

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// ListChannels makes fakeChannels a ChannelLister, as the catalog is.
func (f fakeChannels) ListChannels(context.Context) ([]catalog.Channel, error) {
	var out []catalog.Channel
	for _, ch := range f {
		out = append(out, ch)
	}
	return out, nil
}

// twoLiveNodes returns two ingest nodes running ffmpeg on 1 s segments,
// sharing storage and a lease table, with channel ch_1 (key sk_good).
func twoLiveNodes(t *testing.T, tune func(*Config)) (a, b *Manager, st storage.Store) {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// record: true (recordings happen on nodes given a Recorder).
	chans := fakeChannels{"sk_good": {ID: "ch_1", StreamKey: "sk_good", Record: true}}
	la := lease.NewLocal()
	var ms []*Manager
	for i, l := range []*lease.Local{la, la.Peer()} {
		cfg := Config{
			Ladder:    testLadder,
			Transcode: transcode.Config{SegmentDuration: time.Second},
			Packager:  packager.Config{SegmentDuration: time.Second, Window: 30},
			Leases:    l,
		}
		if tune != nil {
			tune(&cfg)
		}
		log := slog.New(slog.NewTextHandler(tlog{t}, nil)).With("node", string(rune('a'+i)))
		m := NewManager(cfg, chans, st, log)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := m.Wait(ctx); err != nil {
				t.Errorf("sessions still running at the end of the test: %v", err)
			}
		})
		ms = append(ms, m)
	}
	return ms[0], ms[1], st
}

// crash ends the channel's session on m as kill -9 would for storage:
// the transcoder is killed, the packager never ends the manifests, the
// lease is given up (as it lapses when a node dies).
func crash(t *testing.T, m *Manager, channelID string) {
	t.Helper()
	m.mu.Lock()
	s := m.sessions[channelID]
	m.mu.Unlock()
	if s == nil || !s.send(command{kind: cmdStop, kill: true, abandon: true}) {
		t.Fatal("no session to crash")
	}
	<-s.done
}

var segLine = regexp.MustCompile(`(?m)^(\d+)\.m4s$`)

// segments returns the segment numbers a media playlist lists.
func segments(pl string) []uint64 {
	var ns []uint64
	for _, m := range segLine.FindAllStringSubmatch(pl, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		ns = append(ns, n)
	}
	return ns
}

// publishUntilCrash publishes units on node m until the channel's 360p
// playlist lists at least n segments, then crashes the node's session.
func publishUntilCrash(t *testing.T, m *Manager, st storage.Store, tracks []*media.Track, units []testUnit, n int) {
	t.Helper()
	pub, err := m.Publish(context.Background(), req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(tracks); err != nil {
		t.Fatal(err)
	}
	crashed := false
	err = publishRealTime(pub, units, func(time.Duration) {
		if !crashed && len(segments(readKey(t, st, "live/ch_1/s1/360p/index.m3u8"))) >= n {
			crashed = true
			crash(t, m, "ch_1")
		}
	})
	if !errors.Is(err, errStopped) {
		t.Fatalf("publishing until the crash: %v (crashed %v)", err, crashed)
	}
	pub.Close(err)
}

// The publisher of a channel whose ingest node died reconnects through
// another node within the grace: the same playlists go on, the media
// sequence continuing after an EXT-X-DISCONTINUITY, every listed segment
// stored; a fresh node's startup Recover does not end them first.
func TestPublisherContinuesOnAnotherNode(t *testing.T) {
	a, b, st := twoLiveNodes(t, nil)
	ctx := context.Background()
	tracks, units := makeUnits(t, 8, "640x360")
	publishUntilCrash(t, a, st, tracks, units, 3)
	const pl = "live/ch_1/s1/360p/index.m3u8"
	before := readKey(t, st, pl)
	if strings.Contains(before, "#EXT-X-ENDLIST") {
		t.Fatalf("the crash ended the playlist:\n%s", before)
	}

	b.Recover(ctx, []catalog.Channel{{ID: "ch_1"}}) // node b starts
	if got := readKey(t, st, pl); got != before {
		t.Fatalf("Recover within the grace changed the playlist:\n%s", got)
	}

	pub, err := b.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(tracks); err != nil {
		t.Fatal(err)
	}
	last := segments(before)[len(segments(before))-1]
	if err := publishRealTime(pub, units, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "segments of node b in the same playlist", func() bool {
		ns := segments(readKey(t, st, pl))
		return len(ns) > 0 && ns[len(ns)-1] >= last+3
	})
	live := readKey(t, st, pl)
	pub.Close(nil)

	for _, got := range []string{live, readKey(t, st, pl)} {
		ns := segments(got)
		for i, n := range ns {
			if n != ns[0]+uint64(i) {
				t.Errorf("segment numbers do not continue: %v\n%s", ns, got)
				break
			}
		}
		if strings.Count(got, "#EXT-X-DISCONTINUITY\n") != 1 || !strings.HasPrefix(got[strings.Index(got, "#EXT-X-DISCONTINUITY\n"):],
			"#EXT-X-DISCONTINUITY\n#EXT-X-MAP") || !strings.Contains(got, "#EXT-X-DISCONTINUITY-SEQUENCE:0\n") {
			t.Errorf("want one discontinuity, with a new init, after segment %d:\n%s", last, got)
		}
		for _, n := range ns {
			if readKey(t, st, "live/ch_1/s1/360p/"+strconv.FormatUint(n, 10)+".m4s") == "" {
				t.Errorf("segment %d listed but not stored", n)
			}
		}
	}
	if !strings.HasPrefix(live, before[:strings.Index(before, "#EXT-X-PROGRAM-DATE-TIME")]) || strings.Contains(live, "#EXT-X-ENDLIST") {
		t.Errorf("the continued playlist is not the same live playlist:\nbefore:\n%s\nafter:\n%s", before, live)
	}
	if got := readKey(t, st, "live/ch_1/s2/360p/index.m3u8"); got != "" {
		t.Errorf("a new session folder was written:\n%s", got)
	}
	assertEnded(t, st, "ch_1", "360p", "240p", "audio")
	if mpd := readKey(t, st, "live/ch_1/manifest.mpd"); strings.Count(mpd, "<Period") != 2 {
		t.Errorf("MPD: want 2 periods:\n%s", mpd)
	}
}

// A session a crash left live that nobody continues is ended by another
// node's periodic check once its grace has passed, not before; the
// channel records its sessions, so that one becomes an asset too.
func TestInterruptedSessionEndsAfterGrace(t *testing.T) {
	const grace = 3 * time.Second
	rec := &fakeRecorder{}
	a, b, st := twoLiveNodes(t, func(c *Config) {
		c.Packager.ContinueGrace = grace
		c.RecoverEvery = 100 * time.Millisecond
		c.Recorder = rec
	})
	tracks, units := makeUnits(t, 8, "640x360")
	publishUntilCrash(t, a, st, tracks, units, 2)
	in, err := packager.Interrupted(context.Background(), st, "live/ch_1", packager.Config{ContinueGrace: grace})
	if err != nil || !in.Live || in.ContinueUntil.IsZero() {
		t.Fatalf("after the crash: %+v, %v", in, err)
	}
	b.Recover(context.Background(), []catalog.Channel{{ID: "ch_1"}})
	const pl = "live/ch_1/s1/360p/index.m3u8"
	if strings.Contains(readKey(t, st, pl), "#EXT-X-ENDLIST") {
		if time.Now().Before(in.ContinueUntil) {
			t.Fatal("Recover ended a session still within its grace")
		}
		t.Fatal("the crash took longer than the grace; the test proves nothing")
	}
	// state.json is written last, once every manifest is ended.
	waitUntil(t, grace+10*time.Second, "the interrupted session ended", func() bool {
		in, err := packager.Interrupted(context.Background(), st, "live/ch_1", packager.Config{})
		return err == nil && !in.Live
	})
	if now := time.Now(); now.Before(in.ContinueUntil) {
		t.Errorf("ended at %v, before the grace ran out at %v", now, in.ContinueUntil)
	}
	assertEnded(t, st, "ch_1", "360p", "240p", "audio")
	waitUntil(t, 10*time.Second, "the recording", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.calls) > 0
	})
	time.Sleep(300 * time.Millisecond) // three more periodic checks
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 1 || rec.calls[0] != "ch_1/s1" {
		t.Errorf("recordings %v, want one of ch_1/s1 (node a crashed, node b ended it)", rec.calls)
	}
}
