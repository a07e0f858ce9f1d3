package dvr

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// gatedStore holds every Open of the catalog until gate is closed, and
// fails the next one when fail is set.
type gatedStore struct {
	*countingStore
	gate chan struct{}
	fail atomic.Bool
}

func (s *gatedStore) Open(ctx context.Context, key string) (storage.Object, error) {
	if key == prefix+"/"+CatalogKey {
		<-s.gate
		if s.fail.CompareAndSwap(true, false) {
			s.countingStore.Open(ctx, key) // counted like a real attempt
			return nil, errors.New("store unavailable")
		}
	}
	return s.countingStore.Open(ctx, key)
}

// clock is a settable time for a Reader's head cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func reusingReader(st storage.Store, reuse time.Duration) (*Reader, *clock) {
	rd := NewReader(st, ReaderOptions{CachedChunks: 8, Reuse: reuse})
	c := &clock{now: t0}
	rd.heads.now = c.Now
	return rd, c
}

// Concurrent requests share one read of the catalog and the open chunk;
// a request that gives up does not cancel the read the others wait for.
func TestReaderSharesHeadReads(t *testing.T) {
	t.Parallel()
	st := &gatedStore{countingStore: testChannel(t), gate: make(chan struct{})}
	rd, _ := reusingReader(st, time.Second)

	const n = 20
	type answer struct {
		to  time.Time
		err error
	}
	answers := make(chan answer, n)
	for range n {
		go func() {
			_, to, err := rd.Bounds(context.Background(), prefix)
			answers <- answer{to, err}
		}()
	}
	gaveUp, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() {
		_, _, err := rd.Bounds(gaveUp, prefix)
		cancelled <- err
	}()
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled request answered %v, want context.Canceled", err)
	}
	close(st.gate)
	for range n {
		a := <-answers
		if a.err != nil || !a.to.Equal(at(50)) {
			t.Fatalf("Bounds = %v, %v; want %v", a.to, a.err, at(50))
		}
	}
	if got, want := st.reset(), []string{prefix + "/" + CatalogKey, prefix + "/" + ChunkKey("s2", 19)}; !slices.Equal(got, want) {
		t.Errorf("%d concurrent requests read %v, want one read of %v", n+1, got, want)
	}
}

// A head answers for the reuse time, then is read again: a new segment
// shows once the reuse time has passed.
func TestReaderReusesHeadForItsTime(t *testing.T) {
	t.Parallel()
	st := testChannel(t)
	rd, clk := reusingReader(st, 500*time.Millisecond)
	s1 := writeSession(t, st, "s1", testSegments(1, 10, t0), 4, true)

	for range 3 {
		if f, err := rd.Find(context.Background(), prefix, at(41), time.Time{}); err != nil || !slices.Equal(numbers(f.View), span(16, 20)) {
			t.Fatalf("Find: %v", err)
		}
	}
	if got := st.reset(); len(got) != 3 { // catalog, open chunk 19, sealed chunk 15
		t.Errorf("three requests in the reuse time read %v, want the head once and chunk 15", got)
	}

	// Segment 21 arrives.
	s2 := writeSession(t, st, "s2", testSegments(11, 11, t0.Add(30*time.Second)), 4, false)
	putCatalog(t, st, &Catalog{Sessions: []Session{s1, s2}})
	st.reset()
	clk.Add(499 * time.Millisecond)
	if _, to, _ := rd.Bounds(context.Background(), prefix); !to.Equal(at(50)) {
		t.Errorf("within the reuse time the window ends %v, want the head read before, %v", to, at(50))
	}
	clk.Add(time.Millisecond)
	if _, to, _ := rd.Bounds(context.Background(), prefix); !to.Equal(at(52)) {
		t.Errorf("after the reuse time the window ends %v, want %v", to, at(52))
	}
	if got := st.reset(); len(got) != 2 {
		t.Errorf("the head was read as %v, want the catalog and the open chunk", got)
	}
}

// A failed read is not kept: the next request reads again at once. A
// channel without an index is an answer, kept like a head.
func TestReaderHeadErrors(t *testing.T) {
	t.Parallel()
	st := &gatedStore{countingStore: testChannel(t), gate: make(chan struct{})}
	close(st.gate)
	rd, _ := reusingReader(st, time.Hour)
	st.fail.Store(true)
	if _, _, err := rd.Bounds(context.Background(), prefix); err == nil || errors.Is(err, ErrNoIndex) {
		t.Fatalf("Bounds on a failing store: %v", err)
	}
	if _, to, err := rd.Bounds(context.Background(), prefix); err != nil || !to.Equal(at(50)) {
		t.Fatalf("Bounds after the store recovered: %v, %v", to, err)
	}

	root, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	empty := &countingStore{Store: root}
	rd, clk := reusingReader(empty, time.Second)
	if _, _, err := rd.Bounds(context.Background(), prefix); !errors.Is(err, ErrNoIndex) {
		t.Fatalf("Bounds of a channel never live: %v", err)
	}
	writeSession(t, empty, "s1", testSegments(1, 2, t0), 4, false)
	putCatalog(t, empty, &Catalog{Sessions: []Session{{Dir: "s1", Chunks: []ChunkRef{{First: 1, Start: t0}}}}})
	if _, _, err := rd.Bounds(context.Background(), prefix); !errors.Is(err, ErrNoIndex) {
		t.Errorf("within the reuse time: %v, want the ErrNoIndex read before", err)
	}
	clk.Add(time.Second)
	if _, to, err := rd.Bounds(context.Background(), prefix); err != nil || !to.Equal(at(4)) {
		t.Errorf("after the reuse time: %v, %v; want the window to end at %v", to, err, at(4))
	}
}

// A reused head may name chunks that retention has deleted since: the
// span is read again from a new head instead of failing.
func TestReaderRereadsHeadAfterRetention(t *testing.T) {
	t.Parallel()
	st := testChannel(t)
	rd, _ := reusingReader(st, time.Hour)
	if _, err := rd.Find(context.Background(), prefix, at(31), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Session s1 ages out: its chunks go, then dvr.json forgets it.
	for _, n := range []uint64{1, 5, 9} {
		if err := st.Delete(context.Background(), prefix+"/"+ChunkKey("s1", n)); err != nil {
			t.Fatal(err)
		}
	}
	s2 := writeSession(t, st, "s2", testSegments(11, 10, t0.Add(30*time.Second)), 4, false)
	putCatalog(t, st, &Catalog{Sessions: []Session{s2}})
	_, err := rd.Find(context.Background(), prefix, at(3), at(9))
	var we *WindowError
	if !errors.As(err, &we) || !we.From.Equal(at(30)) {
		t.Fatalf("a span of the deleted session: %v, want a WindowError from %v (the index as it is now)", err, at(30))
	}
	if f, err := rd.Find(context.Background(), prefix, at(41), time.Time{}); err != nil || !slices.Equal(numbers(f.View), span(16, 20)) {
		t.Fatalf("a span of the kept session: %v", err)
	}
}
