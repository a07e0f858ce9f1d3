package live

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// A channel's own DVR window applies to its sessions (not the deployment's
// shorter one), and once nobody packages the channel the periodic check
// deletes what aged out of it: the ended session's directory goes, not
// before the window, and dvr.json no longer names it.
func TestIdleChannelSweptAfterDVRWindow(t *testing.T) {
	const window = 6 * time.Second
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chans := &unlistedChannels{fakeChannels: fakeChannels{"sk_good": {ID: "ch_1", StreamKey: "sk_good", DVRWindow: window}}}
	cfg := Config{
		Ladder:    testLadder,
		Transcode: transcode.Config{SegmentDuration: time.Second},
		// The deployment's window is shorter than the channel's own.
		Packager:     packager.Config{SegmentDuration: time.Second, Window: 3, DVRWindow: 2 * time.Second},
		RecoverEvery: 100 * time.Millisecond,
	}
	m := NewManager(cfg, chans, st, slog.New(slog.NewTextHandler(tlog{t}, nil)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Wait(ctx); err != nil {
			t.Errorf("sessions still running at the end of the test: %v", err)
		}
	})
	ctx := context.Background()
	tracks, units := makeUnits(t, 5, "640x360")
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
	pub.Close(nil)
	waitUntil(t, 30*time.Second, "the session ended", func() bool { return m.Status("ch_1").State == "idle" })
	const seg0 = "live/ch_1/s1/360p/0.m4s"
	cat, err := dvr.DecodeCatalog([]byte(readKey(t, st, "live/ch_1/dvr.json")))
	if err != nil || len(cat.Sessions) != 1 || !cat.Sessions[0].Ended || readKey(t, st, seg0) == "" {
		t.Fatalf("after the session: dvr.json %+v (%v), segment 0 stored: %v", cat, err, readKey(t, st, seg0) != "")
	}
	// Retention counts from the media end (when the last frame reached
	// ingest), not from when the transcoder finished.
	chunks := cat.Sessions[0].Chunks
	mediaEnd := chunks[len(chunks)-1].End
	const slack = 500 * time.Millisecond

	// While the channel list cannot be read, the periodic check deletes
	// nothing: the window it knows from startup may be out of date.
	chans.fail.Store(true)
	m.Recover(ctx, []catalog.Channel{chans.fakeChannels["sk_good"]}) // starts the periodic check
	if readKey(t, st, seg0) == "" && time.Since(mediaEnd) < window-slack {
		t.Fatalf("segment 0 deleted %v after the media end, within the %v window", time.Since(mediaEnd), window)
	}
	time.Sleep(time.Until(mediaEnd.Add(window + time.Second)))
	if readKey(t, st, seg0) == "" {
		t.Fatal("segment 0 was deleted by a check that could not list the channels")
	}
	chans.fail.Store(false)
	// Objects go first, then dvr.json forgets them.
	waitUntil(t, window+20*time.Second, "the aged session deleted and forgotten", func() bool {
		c, err := dvr.DecodeCatalog([]byte(readKey(t, st, "live/ch_1/dvr.json")))
		return err == nil && len(c.Sessions) == 0
	})
	if since := time.Since(mediaEnd); since < window-slack {
		t.Errorf("the session was deleted %v after its media end, within the %v window", since, window)
	}
	for _, k := range []string{seg0, "live/ch_1/s1/360p/index.m3u8", "live/ch_1/s1/dvr/0.json", "live/ch_1/index.m3u8"} {
		if readKey(t, st, k) != "" {
			t.Errorf("%s left after the session aged out", k)
		}
	}
}

// unlistedChannels is fakeChannels whose listing fails while fail is set.
type unlistedChannels struct {
	fakeChannels
	fail atomic.Bool
}

func (u *unlistedChannels) ListChannels(ctx context.Context) ([]catalog.Channel, error) {
	if u.fail.Load() {
		return nil, errors.New("catalog unavailable")
	}
	return u.fakeChannels.ListChannels(ctx)
}
