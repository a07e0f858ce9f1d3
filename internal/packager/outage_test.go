package packager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// refusingStore is a real folder store whose writes (Put, Delete,
// DeletePrefix) are refused while refusing is set, each refusal taking
// refuseDelay as an SDK's retries would. Every media playlist it accepts
// is checked at that moment: each object it lists (segments that are not
// gaps, init segments) must already be stored.
type refusingStore struct {
	*fs.Store
	refusing    atomic.Bool
	refuseDelay time.Duration
	refused     atomic.Int64

	mu         sync.Mutex
	violations []string
	playlists  int
}

var errRefused = errors.New("503 SlowDown: please reduce your request rate")

func newRefusingStore(t *testing.T) *refusingStore {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &refusingStore{Store: st}
}

func (s *refusingStore) refuse(ctx context.Context) error {
	if !s.refusing.Load() {
		return nil
	}
	s.refused.Add(1)
	select {
	case <-time.After(s.refuseDelay):
	case <-ctx.Done():
	}
	return errRefused
}

func (s *refusingStore) Put(ctx context.Context, key string, data []byte) error {
	if err := s.refuse(ctx); err != nil {
		return err
	}
	if strings.HasSuffix(key, "/index.m3u8") && strings.Count(key, "/") > 2 {
		s.checkListed(ctx, key, data)
	}
	return s.Store.Put(ctx, key, data)
}

func (s *refusingStore) Delete(ctx context.Context, key string) error {
	if err := s.refuse(ctx); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key)
}

func (s *refusingStore) DeletePrefix(ctx context.Context, prefix string) error {
	if err := s.refuse(ctx); err != nil {
		return err
	}
	return s.Store.DeletePrefix(ctx, prefix)
}

// checkListed records every object the media playlist data (about to be
// stored under key) names that is not stored.
func (s *refusingStore) checkListed(ctx context.Context, key string, data []byte) {
	var m playlist.Media
	if err := m.Unmarshal(data); err != nil {
		s.violate(fmt.Sprintf("%s: unparsable: %v", key, err))
		return
	}
	dir := path.Dir(key)
	var uris []string
	for _, sg := range m.Segments {
		if !sg.Gap {
			uris = append(uris, sg.URI)
		}
	}
	if m.Map != nil {
		uris = append(uris, m.Map.URI)
	}
	for _, u := range uris {
		obj, err := s.Store.Open(ctx, dir+"/"+u)
		if err != nil {
			s.violate(fmt.Sprintf("%s lists %s, not stored: %v", key, u, err))
			continue
		}
		obj.Close()
	}
	s.mu.Lock()
	s.playlists++
	s.mu.Unlock()
}

func (s *refusingStore) violate(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, v)
}

func (s *refusingStore) checked(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.violations {
		t.Error(v)
	}
	if s.playlists == 0 {
		t.Error("no media playlist was written")
	}
}

func (s *refusingStore) read(t *testing.T, key string) []byte {
	t.Helper()
	obj, err := s.Store.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *refusingStore) media(t *testing.T, key string) *playlist.Media {
	t.Helper()
	var m playlist.Media
	if err := m.Unmarshal(s.read(t, key)); err != nil {
		t.Fatalf("parsing %s: %v", key, err)
	}
	return &m
}

// feedPaced writes us in real time sped up by speed, calling between(i)
// before unit i, and returns the longest WriteUnit.
func feedPaced(t *testing.T, l *Live, us []tsUnit, speed float64, between func(i int)) time.Duration {
	t.Helper()
	var longest time.Duration
	start := time.Now()
	origin := us[0].order
	for i := range us {
		if between != nil {
			between(i)
		}
		if d := time.Duration(float64(us[i].order-origin)/speed) - time.Since(start); d > 0 {
			time.Sleep(d)
		}
		t0 := time.Now()
		if err := l.WriteUnit(us[i].r, &us[i].u); err != nil {
			t.Fatalf("WriteUnit: %v", err)
		}
		longest = max(longest, time.Since(t0))
	}
	return longest
}

// listedSegments checks that every media playlist of the session lists a
// contiguous media sequence and returns the gap flags of the 360p one,
// by segment number.
func listedSegments(t *testing.T, st *refusingStore) map[int]bool {
	t.Helper()
	var gaps map[int]bool
	for _, r := range ladder() {
		m := st.media(t, "live/ch/s1/"+r.Name+"/index.m3u8")
		g := map[int]bool{}
		for i, sg := range m.Segments {
			if want := fmt.Sprintf("%d.m4s", m.MediaSequence+i); sg.URI != want {
				t.Errorf("%s: segment %d is %s, want %s", r.Name, i, sg.URI, want)
			}
			g[m.MediaSequence+i] = sg.Gap
			if !sg.Gap {
				st.read(t, "live/ch/s1/"+r.Name+"/"+sg.URI) // stored
			}
		}
		if r.Name == "360p" {
			gaps = g
		}
	}
	return gaps
}

func newOutageLive(t *testing.T, st storage.Store, cfg Config) *Live {
	t.Helper()
	clk := clocktest.New(sessionStart)
	cfg.Now = clk.Now
	l, err := NewLive(context.Background(), st, "live/ch", sessionStart, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	return l
}

// Storage refusing every write for 10 s while the stream goes on in real
// time: WriteUnit never waits on it, no segment is lost (no gap), the
// media sequence stays contiguous, and no playlist ever names an object
// that is not stored.
func TestStorageOutageLosesNoSegment(t *testing.T) {
	st := newRefusingStore(t)
	// As an SDK retrying with backoff would; far above what a loaded
	// machine's scheduling delays can add to a WriteUnit.
	st.refuseDelay = 5 * time.Second
	l := newOutageLive(t, st, Config{Window: 30})
	s := synth{gop: 60, rends: ladder()}
	feed(t, l, s.units(0, 4*time.Second))
	const outage = 10 * time.Second
	var off time.Time
	us := s.units(4*time.Second, 18*time.Second)
	st.refusing.Store(true)
	on := time.Now()
	longest := feedPaced(t, l, us, 1, func(int) {
		if off.IsZero() && time.Since(on) >= outage {
			st.refusing.Store(false)
			off = time.Now()
		}
	})
	st.refusing.Store(false)
	if off.IsZero() {
		off = time.Now()
	}
	settle(t, l)
	t.Logf("writes refused for %v (%d refusals); longest WriteUnit %v", off.Sub(on).Round(time.Millisecond), st.refused.Load(), longest)
	if st.refused.Load() == 0 {
		t.Fatal("no write was refused: the outage did not happen")
	}
	if longest > st.refuseDelay {
		t.Errorf("a WriteUnit took %v during the outage: it waited on storage", longest)
	}
	feed(t, l, s.units(18*time.Second, 21*time.Second))
	gaps := listedSegments(t, st)
	if len(gaps) < 9 {
		t.Errorf("only %d segments listed", len(gaps))
	}
	for n, gap := range gaps {
		if gap {
			t.Errorf("segment %d is a gap", n)
		}
	}
	if s := l.Stats(); s.StoreGaps != 0 || s.StoreBacklog != 0 {
		t.Errorf("stats: %d gaps, backlog %d", s.StoreGaps, s.StoreBacklog)
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.checked(t)
}

// Writes refused for longer than the give-up deadline: the oldest
// unwritten segments become gaps, later ones are listed as usual, and the
// stream goes on with a contiguous media sequence.
func TestStorageOutageBeyondGiveUpMakesGaps(t *testing.T) {
	st := newRefusingStore(t)
	l := newOutageLive(t, st, Config{Window: 30})
	// Well above the writer's longest backoff (2 s), so that segments
	// closed after the outage are stored even on a loaded machine.
	setGiveUp(l, 5*time.Second)
	s := synth{gop: 60, rends: ladder()}
	feed(t, l, s.units(0, 4*time.Second)) // 0 published, 1 open
	st.refusing.Store(true)
	// 4 s of media in 4 s: segments 1 and 2 close during the outage and
	// are given up 5 s later.
	feedPaced(t, l, s.units(4*time.Second, 8*time.Second), 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitFor(ctx, func() bool { return l.Stats().StoreGaps >= 8 }); err != nil { // 2 segments, 4 renditions
		t.Fatalf("no segment given up: %+v", l.Stats())
	}
	st.refusing.Store(false)
	feed(t, l, s.units(8*time.Second, 14*time.Second))
	gaps := listedSegments(t, st)
	first, last := -1, -1
	for n := range 6 {
		gap, ok := gaps[n]
		if !ok {
			t.Fatalf("segment %d not listed: %v", n, gaps)
		}
		if gap && first < 0 {
			first = n
		}
		if gap {
			last = n
		}
	}
	if first != 1 || last < 2 || gaps[5] {
		t.Errorf("gaps %v: want the segments closed during the outage (from 1), none after it", gaps)
	}
	for n := first; n <= last; n++ {
		if !gaps[n] {
			t.Errorf("segment %d between gaps is not a gap: %v", n, gaps)
		}
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.checked(t)
}

// The bytes held for unwritten segments stay under the bound; what does
// not fit drops the oldest segments (gaps) and the newest are stored.
func TestStorageOutageMemoryBound(t *testing.T) {
	t.Parallel()
	st := newRefusingStore(t)
	l := newOutageLive(t, st, Config{Window: 30})
	s := synth{gop: 60, rends: ladder(), payloadN: 4000}
	feed(t, l, s.units(0, 4*time.Second))
	segBytes := 0
	for _, r := range l.Stats().Renditions {
		if r.Segments > 0 {
			segBytes += int(r.Bytes / r.Segments)
		}
	}
	bound := int64(3 * segBytes) // about three segments of the ladder
	l.w.SetLimits(l.writerConfig().GiveUp, bound)
	st.refusing.Store(true)
	us := s.units(4*time.Second, 20*time.Second)
	var peak int64
	for i := range us {
		if err := l.WriteUnit(us[i].r, &us[i].u); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, l.Stats().StoreBacklogBytes)
	}
	t.Logf("segment of the ladder ~%d bytes; bound %d; peak backlog %d; gaps %d", segBytes, bound, peak, l.Stats().StoreGaps)
	if peak > bound || peak == 0 {
		t.Errorf("backlog peaked at %d bytes, bound %d", peak, bound)
	}
	st.refusing.Store(false)
	feed(t, l, s.units(20*time.Second, 23*time.Second))
	gaps := listedSegments(t, st)
	if !gaps[2] || gaps[9] || gaps[10] {
		t.Errorf("gaps %v: want the oldest dropped, the newest stored", gaps)
	}
	if l.Stats().StoreGaps == 0 {
		t.Error("no gap counted")
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.checked(t)
}

// End waits for what is queued: storage back within the wait, every
// segment is listed in the ended playlists; storage still refusing, End
// returns after a bounded wait.
func TestEndFlushesQueuedWrites(t *testing.T) {
	t.Parallel()
	t.Run("storage back", func(t *testing.T) {
		t.Parallel()
		st := newRefusingStore(t)
		l := newOutageLive(t, st, Config{Window: 30})
		s := synth{gop: 60, rends: ladder()}
		feed(t, l, s.units(0, 4*time.Second))
		st.refusing.Store(true)
		write(t, l, s.units(4*time.Second, 9*time.Second))
		time.AfterFunc(time.Second, func() { st.refusing.Store(false) })
		if err := l.End(context.Background()); err != nil {
			t.Fatal(err)
		}
		gaps := listedSegments(t, st)
		for n, gap := range gaps {
			if gap {
				t.Errorf("segment %d is a gap", n)
			}
		}
		if len(gaps) != 5 || !st.media(t, "live/ch/s1/360p/index.m3u8").Endlist {
			t.Errorf("ended playlist lists %v", gaps)
		}
		st.checked(t)
	})
	t.Run("storage still down", func(t *testing.T) {
		t.Parallel()
		st := newRefusingStore(t)
		l := newOutageLive(t, st, Config{Window: 30})
		setGiveUp(l, time.Second)
		s := synth{gop: 60, rends: ladder()}
		feed(t, l, s.units(0, 4*time.Second))
		st.refusing.Store(true)
		write(t, l, s.units(4*time.Second, 9*time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		t0 := time.Now()
		err := l.End(ctx)
		took := time.Since(t0)
		t.Logf("End with storage down: %v after %v", err, took)
		if err == nil {
			t.Error("End reported success with storage refusing writes")
		}
		if took > 10*time.Second {
			t.Errorf("End took %v", took)
		}
	})
}

// Abandon (another node took the channel) stops the writer at once: what
// was queued is never written, and End after it writes nothing either.
func TestAbandonWritesNothingMore(t *testing.T) {
	t.Parallel()
	st := newRefusingStore(t)
	l := newOutageLive(t, st, Config{Window: 30})
	s := synth{gop: 60, rends: ladder()}
	feed(t, l, s.units(0, 4*time.Second))
	before := string(st.read(t, "live/ch/s1/360p/index.m3u8"))
	st.refusing.Store(true)
	write(t, l, s.units(4*time.Second, 9*time.Second))
	l.Abandon()
	st.refusing.Store(false)
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteUnit(0, &mediaUnitKey); !errors.Is(err, ErrEnded) {
		t.Errorf("WriteUnit after Abandon: %v", err)
	}
	if after := string(st.read(t, "live/ch/s1/360p/index.m3u8")); after != before {
		t.Errorf("the playlist changed after Abandon:\n%s\nbefore:\n%s", after, before)
	}
	if _, err := st.Store.Open(context.Background(), "live/ch/s1/360p/2.m4s"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("segment 2, queued when abandoned, was stored: %v", err)
	}
}
