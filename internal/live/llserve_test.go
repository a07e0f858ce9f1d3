package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/packager/hls"
)

// The Manager is what the origin is configured with.
var _ origin.LiveSource = (*Manager)(nil)

func TestParseLiveKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want *liveKey // nil: not served from memory
	}{
		{"live/ch_1/s3/720p/index.m3u8", &liveKey{channel: "ch_1", dir: "s3", rendition: "720p", playlist: true, k: -1}},
		{"live/ch_1/s3/720p/41.m4s", &liveKey{channel: "ch_1", dir: "s3", rendition: "720p", n: 41, k: -1}},
		{"live/ch_1/s3/720p/41.2.m4s", &liveKey{channel: "ch_1", dir: "s3", rendition: "720p", n: 41, k: 2}},
		{"live/ch_1/s3/audio_en/0.0.m4s", &liveKey{channel: "ch_1", dir: "s3", rendition: "audio_en", n: 0, k: 0}},
		{"live/ch_1/s12/a.b/18446744073709551615.m4s", &liveKey{channel: "ch_1", dir: "s12", rendition: "a.b", n: 1<<64 - 1, k: -1}},
		// Not in memory: storage serves (or refuses) these.
		{"live/ch_1/index.m3u8", nil},                                           // multivariant
		{"live/ch_1/manifest.mpd", &liveKey{channel: "ch_1", mpd: true, k: -1}}, // the MPD (LL-DASH: the segment being produced)
		{"live/ch_1/s3/manifest.mpd", nil},                                      // no MPD there
		{"live/ch_1/s3/720p/init-2.mp4", nil},                                   // init segment
		{"live/ch_1/s3/720p/other.m3u8", nil},                                   // not the media playlist's name
		{"vod/as_1/s3/720p/41.m4s", nil},                                        // VoD
		{"live/ch_1/x3/720p/41.m4s", nil},                                       // not a session directory
		{"live/ch_1/s03/720p/41.m4s", nil},                                      // nor this
		{"live/ch_1/s3/720p/041.m4s", nil},                                      // a number the packager never writes
		{"live/ch_1/s3/720p/41.02.m4s", nil},                                    // same
		{"live/ch_1/s3/720p/-1.m4s", nil},                                       // not a number
		{"live/ch_1/s3/720p/41.2.3.m4s", nil},                                   // too many dots
		{"live/ch_1/s3/720p/41..m4s", nil},                                      // empty part index
		{"live/ch_1/s3/720p/18446744073709551616.m4s", nil},                     // overflows uint64
		{"live/ch_1/s3/720p/41.99999999999999999999.m4s", nil},                  // absurd part index
		{"live/ch_1/s3/720p/41.1048577.m4s", nil},                               // past maxPart
		{"live/ch_1/s3/720p/41.ts", nil},                                        // not CMAF
		{"live//s3/720p/41.m4s", nil},                                           // no channel
		{"live/ch_1/s3/7 20p/41.m4s", nil},                                      // not a rendition name
		{"live/ch_1/s3/720p/sub/41.m4s", nil},                                   // too deep
		{"live/ch_1/s3/41.m4s", nil},                                            // too shallow
	}
	for _, tc := range tests {
		got, ok := parseLiveKey(tc.key)
		switch {
		case tc.want == nil && ok:
			t.Errorf("parseLiveKey(%q) = %+v, want not served", tc.key, got)
		case tc.want != nil && !ok:
			t.Errorf("parseLiveKey(%q): not served, want %+v", tc.key, *tc.want)
		case tc.want != nil && got != *tc.want:
			t.Errorf("parseLiveKey(%q) = %+v, want %+v", tc.key, got, *tc.want)
		}
	}
}

// fakeServer records what the adapter asks of a session's packager.
type fakeServer struct {
	err   error
	calls []string
}

func (f *fakeServer) Playlist(_ context.Context, dir, rendition string, q url.Values) ([]byte, error) {
	f.calls = append(f.calls, fmt.Sprintf("playlist %s %s %s", dir, rendition, q.Encode()))
	if f.err != nil {
		return nil, f.err
	}
	return []byte("#EXTM3U\n"), nil
}

func (f *fakeServer) MPD(context.Context) ([]byte, error) {
	f.calls = append(f.calls, "mpd")
	if f.err != nil {
		return nil, f.err
	}
	return []byte("<MPD/>"), nil
}

func (f *fakeServer) Part(_ context.Context, dir, rendition string, n uint64, k int) (io.ReadCloser, error) {
	f.calls = append(f.calls, fmt.Sprintf("part %s %s %d %d", dir, rendition, n, k))
	if f.err != nil {
		return nil, f.err
	}
	return io.NopCloser(strings.NewReader("moof")), nil
}

// The packager's errors, as the origin must see them.
func TestSourceErrors(t *testing.T) {
	t.Parallel()
	bad := &hls.DirectiveError{Param: hls.ParamMSN, Value: "x", Reason: "not a decimal-integer"}
	other := errors.New("disk on fire")
	tests := []struct {
		name   string
		err    error
		part   bool
		want   error // errors.Is
		notAlt error // errors.Is must not hold
	}{
		{"not served", packager.ErrNotServed, false, origin.ErrNotLive, nil},
		{"not served, wrapped", fmt.Errorf("dir s2: %w", packager.ErrNotServed), true, origin.ErrNotLive, nil},
		{"no part", packager.ErrNoPart, true, origin.ErrNotFound, origin.ErrNotLive},
		// A segment out of memory is in storage.
		{"no segment", packager.ErrNoPart, false, origin.ErrNotLive, origin.ErrNotFound},
		{"hold timeout", packager.ErrHoldTimeout, false, origin.ErrHoldTimeout, nil},
		{"hold timeout on a part", packager.ErrHoldTimeout, true, origin.ErrHoldTimeout, nil},
		{"bad directive", bad, false, origin.ErrBadDirective, nil},
		{"too far ahead", fmt.Errorf("_HLS_msn 99 is more than two segments ahead: %w", hls.ErrBadDirective), false, origin.ErrBadDirective, nil},
		{"other", other, false, other, origin.ErrNotLive},
		{"canceled", context.Canceled, false, context.Canceled, origin.ErrNotLive},
	}
	for _, tc := range tests {
		got := sourceError(tc.err, tc.part)
		if !errors.Is(got, tc.want) {
			t.Errorf("%s: %v, want errors.Is %v", tc.name, got, tc.want)
		}
		if tc.notAlt != nil && errors.Is(got, tc.notAlt) {
			t.Errorf("%s: %v is also %v", tc.name, got, tc.notAlt)
		}
	}
	// The 400's body names the directive at fault.
	if msg := sourceError(bad, false).Error(); !strings.Contains(msg, `_HLS_msn="x"`) {
		t.Errorf("bad directive message %q does not name the directive", msg)
	}
}

// Keys reach the session's packager as directory, rendition, numbers and
// query; its errors come back mapped.
func TestSourceCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := &fakeServer{}
	lk, _ := parseLiveKey("live/ch_1/s3/720p/index.m3u8")
	q := url.Values{"_HLS_msn": {"41"}, "_HLS_part": {"2"}}
	if b, err := playlistFrom(ctx, srv, lk, q); err != nil || string(b) != "#EXTM3U\n" {
		t.Fatalf("playlist: %q, %v", b, err)
	}
	for _, key := range []string{"live/ch_1/s3/720p/41.2.m4s", "live/ch_1/s3/720p/40.m4s"} {
		lk, _ := parseLiveKey(key)
		rc, err := openFrom(ctx, srv, lk)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if b, _ := io.ReadAll(rc); string(b) != "moof" {
			t.Fatalf("%s: read %q", key, b)
		}
		rc.Close()
	}
	want := "playlist s3 720p _HLS_msn=41&_HLS_part=2|part s3 720p 41 2|part s3 720p 40 -1"
	if got := strings.Join(srv.calls, "|"); got != want {
		t.Fatalf("calls\n%s\nwant\n%s", got, want)
	}

	srv.err = packager.ErrHoldTimeout
	if _, err := playlistFrom(ctx, srv, lk, q); !errors.Is(err, origin.ErrHoldTimeout) {
		t.Fatalf("playlist hold: %v", err)
	}
	plk, _ := parseLiveKey("live/ch_1/s3/720p/41.2.m4s")
	srv.err = packager.ErrNoPart
	if _, err := openFrom(ctx, srv, plk); !errors.Is(err, origin.ErrNotFound) {
		t.Fatalf("part: %v, want ErrNotFound", err)
	}
	// No session: storage.
	if _, err := playlistFrom(ctx, nil, lk, q); !errors.Is(err, origin.ErrNotLive) {
		t.Fatalf("no session, playlist: %v", err)
	}
	if _, err := openFrom(ctx, nil, plk); !errors.Is(err, origin.ErrNotLive) {
		t.Fatalf("no session, part: %v", err)
	}
}

// Through the Manager: without a session on this node (or before its
// packager starts) nothing is served from memory; with one, a path of
// another session directory is not either.
func TestManagerServesOnlyItsSessions(t *testing.T) {
	t.Parallel()
	m, st := newTestManager(t)
	ctx := context.Background()
	notLive := func(what string) {
		t.Helper()
		for _, key := range []string{"live/ch_1/s999999/720p/41.m4s", "live/ch_1/s999999/720p/41.2.m4s"} {
			if rc, err := m.Open(ctx, key); !errors.Is(err, origin.ErrNotLive) {
				if rc != nil {
					rc.Close()
				}
				t.Fatalf("%s: Open(%s): %v, want ErrNotLive", what, key, err)
			}
		}
		if _, err := m.MediaPlaylist(ctx, "live/ch_1/s999999/720p/index.m3u8", url.Values{"_HLS_msn": {"1"}}); !errors.Is(err, origin.ErrNotLive) {
			t.Fatalf("%s: MediaPlaylist: %v, want ErrNotLive", what, err)
		}
	}
	notLive("no session")
	// Keys of the wrong kind, whatever runs.
	if _, err := m.MediaPlaylist(ctx, "live/ch_1/s1/720p/41.m4s", nil); !errors.Is(err, origin.ErrNotLive) {
		t.Fatalf("MediaPlaylist of a segment: %v", err)
	}
	if _, err := m.Open(ctx, "live/ch_1/s1/720p/index.m3u8"); !errors.Is(err, origin.ErrNotLive) {
		t.Fatalf("Open of a playlist: %v", err)
	}

	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		pub.Close(nil)
		if err := m.Wait(ctx); err != nil {
			t.Error(err)
		}
	}()
	notLive("session without a packager yet")

	// A real packager for the session (what its first output starts).
	pkg, err := packager.NewLive(ctx, st, Prefix("ch_1"), time.Now(), packager.Config{SegmentDuration: time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	s := m.sessions["ch_1"]
	m.mu.Unlock()
	if s == nil {
		t.Fatal("no session registered for ch_1")
	}
	if got := m.server("ch_1"); got != nil {
		t.Fatalf("server before the packager started = %v", got)
	}
	s.out.pkg.Store(pkg)
	defer func() {
		s.out.pkg.Store(nil) // the session ends without it
		pkg.Abandon()
	}()
	if got := m.server("ch_1"); got != memServer(pkg) {
		t.Fatalf("server = %v, want the session's packager", got)
	}
	if got := m.server("ch_2"); got != nil {
		t.Fatalf("server of another channel = %v", got)
	}
	notLive("another session directory")
}
