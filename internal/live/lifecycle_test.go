package live

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// testLadder is two small rungs, quick to encode.
var testLadder = transcode.Ladder{
	Preset: "ultrafast",
	Video: []transcode.Rung{
		{Name: "360p", Height: 360, Bitrate: 600_000},
		{Name: "240p", Height: 240, Bitrate: 300_000},
	},
}

// newLiveManager is a Manager running ffmpeg (or the script at ffmpeg) on
// 1 s segments, with channels ch_1..ch_3 (keys sk_good, sk_2, sk_3).
func newLiveManager(t *testing.T, ffmpeg string, tune func(*Config)) (*Manager, storage.Store) {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chans := fakeChannels{
		"sk_good": {ID: "ch_1", StreamKey: "sk_good"},
		"sk_2":    {ID: "ch_2", StreamKey: "sk_2"},
		"sk_3":    {ID: "ch_3", StreamKey: "sk_3"},
	}
	cfg := Config{
		Ladder:    testLadder,
		Transcode: transcode.Config{FFmpegPath: ffmpeg, SegmentDuration: time.Second},
		Packager:  packager.Config{SegmentDuration: time.Second, Window: 6},
	}
	if tune != nil {
		tune(&cfg)
	}
	m := NewManager(cfg, chans, st, slog.New(slog.NewTextHandler(tlog{t}, nil)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Wait(ctx); err != nil {
			t.Errorf("sessions still running at the end of the test: %v", err)
		}
	})
	return m, st
}

var videoOnly = []*media.Track{{Kind: media.Video, Codec: media.H264, Width: 640, Height: 360}}

// waitUntil polls cond (real state) until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertGone checks that every recorded ffmpeg has exited and been reaped.
func assertGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("ffmpeg %d still exists (kill 0: %v)", pid, err)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// The leak of issue 9: a channel deleted after its publisher was admitted
// but before the listener had the tracks. The listener's late Start must be
// refused, and no ffmpeg may ever run.
func TestRemoveBeforeStartRunsNoTranscoder(t *testing.T) {
	ffmpeg, pidFile := ffmpegWrapper(t, "")
	m, _ := newLiveManager(t, ffmpeg, nil)
	ctx := context.Background()
	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "ch_1"); err != nil {
		t.Fatal(err)
	}
	// The listener finds the tracks only now (up to its start timeout later).
	if err := pub.Start(videoOnly); !errors.Is(err, errStopped) {
		t.Errorf("Start after Remove: %v, want errStopped", err)
	}
	pub.Close(err) // as the listener does after a failed Start
	if tc := pub.(*session).tc.Load(); tc != nil {
		<-tc.Done()
		t.Error("a transcoder was started for a removed channel")
	}
	if pids := recordedPIDs(t, pidFile); len(pids) != 0 {
		assertGone(t, pids)
		t.Errorf("ffmpeg ran %d times for a removed channel", len(pids))
	}
	if st := m.Status("ch_1"); st.State != "idle" {
		t.Errorf("state after Remove = %q", st.State)
	}
}

// Remove of a channel whose transcoder is starting returns only once the
// ffmpeg process is gone, and nothing restarts it.
func TestRemoveWhileStartingWaitsForFFmpegToExit(t *testing.T) {
	ffmpeg, pidFile := ffmpegWrapper(t, "")
	m, _ := newLiveManager(t, ffmpeg, nil)
	ctx := context.Background()
	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(videoOnly); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "ffmpeg to start", func() bool { return len(recordedPIDs(t, pidFile)) > 0 })
	tc := pub.(*session).tc.Load()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := m.Remove(rctx, "ch_1"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	select {
	case <-tc.Done():
	default:
		t.Error("Remove returned while the transcoder was still supervised (it may restart)")
	}
	assertGone(t, recordedPIDs(t, pidFile))
	if err := pub.WriteUnit(0, &media.Unit{Key: true}); !errors.Is(err, errStopped) {
		t.Errorf("WriteUnit after Remove: %v, want errStopped", err)
	}
	pub.Close(errStopped) // the listener's Close after the refused unit returns at once
	if n := len(recordedPIDs(t, pidFile)); n != 1 {
		t.Errorf("ffmpeg started %d times, want 1", n)
	}
}

// Start and Remove racing, as a delete during a publisher's start does:
// whichever wins, no ffmpeg is left once both have returned.
func TestRemoveRacingStartLeavesNoFFmpeg(t *testing.T) {
	ffmpeg, pidFile := ffmpegWrapper(t, "")
	m, _ := newLiveManager(t, ffmpeg, nil)
	ctx := context.Background()
	for _, key := range []string{"sk_good", "sk_2", "sk_3"} {
		pub, err := m.Publish(ctx, req(key))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var startErr error
		wg.Go(func() { startErr = pub.Start(videoOnly) })
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		if err := m.Remove(rctx, pub.(*session).ch.ID); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		cancel()
		wg.Wait()
		if startErr != nil && !errors.Is(startErr, errStopped) {
			t.Errorf("Start: %v", startErr)
		}
		pub.Close(startErr)
		if tc := pub.(*session).tc.Load(); tc != nil {
			select {
			case <-tc.Done():
			default:
				t.Errorf("%s: transcoder still supervised after Remove", key)
			}
		}
	}
	assertGone(t, recordedPIDs(t, pidFile))
}

// Removed channels are remembered only for a while: the map of them does
// not grow with every channel ever deleted.
func TestRemovedChannelsAreForgotten(t *testing.T) {
	m, _ := newTestManager(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	if err := m.Remove(ctx, "ch_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Publish(ctx, req("sk_good")); err == nil {
		t.Fatal("a removed channel admitted a publisher")
	}
	now = now.Add(tombstoneTTL + time.Second)
	if err := m.Remove(ctx, "ch_gone"); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	_, kept := m.removed["ch_1"]
	n := len(m.removed)
	m.mu.Unlock()
	if kept || n != 1 {
		t.Errorf("removed channels remembered: %d (ch_1 kept: %v), want only ch_gone", n, kept)
	}
}

// readKey returns a stored object's content, "" if there is none.
func readKey(t *testing.T, st storage.Store, key string) string {
	t.Helper()
	obj, err := st.Open(context.Background(), key)
	if errors.Is(err, storage.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertEnded checks that the channel's multivariant playlist lists
// renditions, that each of their media playlists ends with EXT-X-ENDLIST,
// and that the MPD is static.
func assertEnded(t *testing.T, st storage.Store, channelID string, renditions ...string) {
	t.Helper()
	prefix := Prefix(channelID)
	mv := readKey(t, st, prefix+"/index.m3u8")
	var listed []string
	for _, line := range strings.Split(mv, "\n") {
		if uri, ok := strings.CutPrefix(line, "#EXT-X-MEDIA:"); ok {
			if _, after, ok := strings.Cut(uri, `URI="`); ok {
				listed = append(listed, after[:strings.IndexByte(after, '"')])
			}
		} else if line != "" && !strings.HasPrefix(line, "#") {
			listed = append(listed, line)
		}
	}
	var names []string
	for _, uri := range listed {
		names = append(names, path.Base(path.Dir(uri)))
		if pl := readKey(t, st, path.Join(prefix, uri)); !strings.Contains(pl, "#EXT-X-ENDLIST") {
			t.Errorf("%s not ended:\n%s", uri, pl)
		}
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(renditions)); !slices.Equal(names, want) {
		t.Errorf("multivariant playlist lists %v, want %v:\n%s", names, want, mv)
	}
	if mpd := readKey(t, st, prefix+"/manifest.mpd"); !strings.Contains(mpd, `type="static"`) {
		t.Errorf("MPD not static:\n%s", mpd)
	}
}

// Kicking the publisher ends the publication cleanly (the transcoder
// drains, the playlists end), refuses its next unit, and the channel can be
// published to again. Without a publisher it does nothing.
func TestDisconnectEndsThePublication(t *testing.T) {
	tracks, units := makeUnits(t, 12, "640x360")
	ffmpeg, pidFile := ffmpegWrapper(t, "")
	m, st := newLiveManager(t, ffmpeg, nil)
	ctx := context.Background()
	if err := m.Disconnect(ctx, "ch_1"); err != nil {
		t.Fatalf("Disconnect without a publisher: %v", err)
	}
	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(tracks); err != nil {
		t.Fatal(err)
	}
	kicked := false
	err = publishRealTime(pub, units, func(dts time.Duration) {
		if dts > 4*time.Second && !kicked {
			kicked = true
			// Returns once the publication has ended.
			if err := m.Disconnect(ctx, "ch_1"); err != nil {
				t.Errorf("Disconnect: %v", err)
			}
		}
	})
	if !errors.Is(err, errStopped) {
		t.Fatalf("the publisher's units after the kick: %v, want errStopped", err)
	}
	pub.Close(err)
	if st := m.Status("ch_1"); st.State != "idle" {
		t.Errorf("state after Disconnect = %q", st.State)
	}
	assertEnded(t, st, "ch_1", "360p", "240p", "audio")
	assertGone(t, recordedPIDs(t, pidFile))
	// The key still works: the publisher may come back.
	pub2, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatalf("publishing again after a kick: %v", err)
	}
	pub2.Close(nil)
}

// Overload (issue 9, defect 9): with a transcoder slower than real time, a
// publisher that leaves finds the drain timing out; the manifests must end
// all the same, under their own deadline.
func TestManifestsEndWhenTheDrainTimesOut(t *testing.T) {
	tracks, units := makeUnits(t, 8, "640x360")
	ffmpeg, _ := ffmpegWrapper(t, "scale=") // always half real time
	m, st := newLiveManager(t, ffmpeg, func(c *Config) {
		c.NoShedding = true
		c.DrainTimeout = 2 * time.Second
	})
	ctx := context.Background()
	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(tracks); err != nil {
		t.Fatal(err)
	}
	if err := publishRealTime(pub, units, nil); err != nil {
		t.Fatal(err)
	}
	if lag := m.Status("ch_1").Transcoder.Lag; lag < 2 {
		t.Fatalf("transcoder only %.1f s behind: not slow enough for the test", lag)
	}
	began := time.Now()
	pub.Close(nil)
	if d := time.Since(began); d < 2*time.Second {
		t.Errorf("Close took %v: the drain did not time out", d)
	}
	assertEnded(t, st, "ch_1", "360p", "240p", "audio")
}

// A channel whose transcoder cannot keep up sheds load: here ffmpeg runs at
// half real time while it encodes the top rung, so dropping that rung is
// enough. The status says so, the lag falls back under the limit, and the
// stream still ends cleanly.
func TestSlowTranscoderShedsLoadAndCatchesUp(t *testing.T) {
	tracks, units := makeUnits(t, 18, "640x360")
	ffmpeg, _ := ffmpegWrapper(t, "scale=640:360")
	m, st := newLiveManager(t, ffmpeg, func(c *Config) { c.ShedAfter = 2 * time.Second })
	ctx := context.Background()
	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(tracks); err != nil {
		t.Fatal(err)
	}
	var shedAt time.Duration
	var maxLagAfter float64
	if err := publishRealTime(pub, units, func(dts time.Duration) {
		s := m.Status("ch_1")
		if shedAt == 0 && s.Degraded != nil {
			shedAt = dts
		}
		// Once the new ladder has had 3 s to start, it keeps up.
		if shedAt != 0 && dts > shedAt+3*time.Second {
			maxLagAfter = max(maxLagAfter, s.Transcoder.Lag)
		}
	}); err != nil {
		t.Fatal(err)
	}
	s := m.Status("ch_1")
	if s.Degraded == nil || s.Degraded.Level != 1 || s.Degraded.Reason != "dropped the top rung 360p" {
		t.Fatalf("degraded = %+v, want level 1, the top rung dropped", s.Degraded)
	}
	if got := strings.Join(s.Renditions, ","); got != "240p,audio" {
		t.Errorf("renditions after shedding: %s", got)
	}
	if limit := m.cfg.ShedLag.Seconds(); maxLagAfter == 0 || maxLagAfter >= limit {
		t.Errorf("lag after shedding at %v: up to %.2f s, want under %.2f s", shedAt, maxLagAfter, limit)
	}
	pub.Close(nil)
	// The dropped rung's media playlist stays as it was when the rung was
	// dropped: ending it at End is the packager's (see notes/issue9/live.md).
	assertEnded(t, st, "ch_1", "240p", "audio")
}

type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) { l.t.Log(strings.TrimSpace(string(b))); return len(b), nil }
