package writer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// faultStore is a real file store that records the calls it gets, can
// refuse writes, and can hold a Put of a given key until released.
type faultStore struct {
	storage.Store
	refusing atomic.Bool

	mu     sync.Mutex
	calls  []string // "put key" or "delete key"
	holdOn string   // Put of this key waits on release
	held   chan struct{}
	gate   chan struct{}
}

func newFaultStore(t *testing.T) *faultStore {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &faultStore{Store: st}
}

// hold makes the next Put of key block until release; held is closed once
// it has started.
func (s *faultStore) hold(key string) (held <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdOn, s.held, s.gate = key, make(chan struct{}), make(chan struct{})
	gate := s.gate
	return s.held, func() { close(gate) }
}

func (s *faultStore) Put(ctx context.Context, key string, data []byte) error {
	s.mu.Lock()
	s.calls = append(s.calls, "put "+key)
	var gate chan struct{}
	if key == s.holdOn {
		gate = s.gate
		close(s.held)
		s.holdOn = ""
	}
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.refusing.Load() {
		return errors.New("refused")
	}
	return s.Store.Put(ctx, key, data)
}

func (s *faultStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	s.calls = append(s.calls, "delete "+key)
	s.mu.Unlock()
	if s.refusing.Load() {
		return errors.New("refused")
	}
	return s.Store.Delete(ctx, key)
}

func (s *faultStore) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *faultStore) read(t *testing.T, key string) string {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer obj.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(obj); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// reports collects what done was told, by key.
type reports struct {
	mu  sync.Mutex
	got map[string]error
	ch  chan string
}

func newReports() *reports { return &reports{got: map[string]error{}, ch: make(chan string, 100)} }

func (r *reports) done(op *Op[int], err error) {
	r.mu.Lock()
	r.got[op.Key] = err
	r.mu.Unlock()
	r.ch <- op.Key
}

func (r *reports) wait(t *testing.T, key string) error {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		err, ok := r.got[key]
		r.mu.Unlock()
		if ok {
			return err
		}
		select {
		case <-r.ch:
		case <-timeout:
			t.Fatalf("no report for %s", key)
		}
	}
}

func (r *reports) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.got[key]
	return ok
}

func start(t *testing.T, st storage.Store, cfg Config, r *reports) *Writer[int] {
	t.Helper()
	w := Start(st, cfg, nil, r.done)
	t.Cleanup(func() { w.Stop() })
	return w
}

func idle(t *testing.T, w *Writer[int]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.WaitIdle(ctx); err != nil {
		t.Fatalf("writer not idle: %v", err)
	}
}

func TestOrderOpsThenBatchThenDeletes(t *testing.T) {
	st := newFaultStore(t)
	if err := st.Store.Put(context.Background(), "old/1.m4s", []byte("x")); err != nil {
		t.Fatal(err)
	}
	r := newReports()
	// The first op holds the writer, so everything after is queued at once.
	held, release := st.hold("a/1.m4s")
	w := start(t, st, Config{GiveUp: time.Minute, BatchAfter: time.Hour}, r)
	w.Enqueue(&Op[int]{Key: "a/1.m4s", Data: []byte("1")})
	<-held
	w.Enqueue(&Op[int]{Key: "a/init.mp4", Data: []byte("i"), Durable: true})
	w.Enqueue(&Op[int]{Key: "a/2.m4s", Data: []byte("2")})
	w.SetBatch([]Object{{Key: "state.json", Data: []byte("s")}, {Key: "a/index.m3u8", Data: []byte("p")}})
	w.AddDeletes([]Delete{{Key: "old/1.m4s"}})
	release()
	idle(t, w)
	want := []string{"put a/1.m4s", "put a/init.mp4", "put a/2.m4s", "put state.json", "put a/index.m3u8", "delete old/1.m4s"}
	if got := st.log(); !slices.Equal(got, want) {
		t.Errorf("calls\n got %q\nwant %q", got, want)
	}
	for _, k := range []string{"a/1.m4s", "a/init.mp4", "a/2.m4s"} {
		if err := r.wait(t, k); err != nil {
			t.Errorf("%s reported %v", k, err)
		}
	}
	if _, err := st.Open(context.Background(), "old/1.m4s"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted object still there: %v", err)
	}
}

// A batch that waited BatchAfter goes before queued ops, so manifests
// never starve behind a backlog of segments.
func TestBatchDueGoesFirst(t *testing.T) {
	st := newFaultStore(t)
	r := newReports()
	held, release := st.hold("a/1.m4s")
	w := start(t, st, Config{GiveUp: time.Minute, BatchAfter: time.Millisecond}, r)
	w.Enqueue(&Op[int]{Key: "a/1.m4s", Data: []byte("1")})
	<-held
	w.SetBatch([]Object{{Key: "a/index.m3u8", Data: []byte("p")}})
	w.Enqueue(&Op[int]{Key: "a/2.m4s", Data: []byte("2")})
	time.Sleep(5 * time.Millisecond) // let the batch become due (BatchAfter 1 ms)
	release()
	idle(t, w)
	want := []string{"put a/1.m4s", "put a/index.m3u8", "put a/2.m4s"}
	if got := st.log(); !slices.Equal(got, want) {
		t.Errorf("calls\n got %q\nwant %q", got, want)
	}
}

func TestNewerBatchSupersedes(t *testing.T) {
	st := newFaultStore(t)
	r := newReports()
	held, release := st.hold("x")
	w := start(t, st, Config{GiveUp: time.Minute, BatchAfter: time.Hour}, r)
	w.SetBatch([]Object{{Key: "x", Data: []byte("x1")}, {Key: "y", Data: []byte("y1")}})
	<-held
	w.SetBatch([]Object{{Key: "x", Data: []byte("x2")}})
	release()
	idle(t, w)
	if got := st.read(t, "x"); got != "x2" {
		t.Errorf("x = %q, want the newer batch's x2", got)
	}
	if got := st.read(t, "y"); got != "y1" {
		t.Errorf("y = %q, want y1 (kept from the older batch)", got)
	}
	want := []string{"put x", "put x", "put y"}
	if got := st.log(); !slices.Equal(got, want) {
		t.Errorf("calls\n got %q\nwant %q", got, want)
	}
}

func TestGiveUpAndDurable(t *testing.T) {
	st := newFaultStore(t)
	st.refusing.Store(true)
	r := newReports()
	w := start(t, st, Config{GiveUp: 300 * time.Millisecond, BatchAfter: time.Hour}, r)
	w.Enqueue(&Op[int]{Key: "a/init.mp4", Data: []byte("i"), Durable: true})
	w.Enqueue(&Op[int]{Key: "a/1.m4s", Data: []byte("1")})
	if err := r.wait(t, "a/1.m4s"); !errors.Is(err, ErrGaveUp) {
		t.Fatalf("segment reported %v, want ErrGaveUp", err)
	}
	// The init is queued, or being retried at this very moment: never
	// given up.
	if ops, _ := w.Backlog(); ops > 1 || r.has("a/init.mp4") {
		t.Fatalf("backlog %d ops, init reported %v: the durable init must stay", ops, r.has("a/init.mp4"))
	}
	st.refusing.Store(false)
	if err := r.wait(t, "a/init.mp4"); err != nil {
		t.Fatalf("init reported %v once storage is back", err)
	}
	if got := st.read(t, "a/init.mp4"); got != "i" {
		t.Errorf("init = %q", got)
	}
}

// Retries back off: a refused object is not tried in a tight loop.
func TestBackoff(t *testing.T) {
	st := newFaultStore(t)
	st.refusing.Store(true)
	r := newReports()
	w := start(t, st, Config{GiveUp: time.Minute, BatchAfter: time.Hour}, r)
	w.Enqueue(&Op[int]{Key: "a/1.m4s", Data: []byte("1")})
	time.Sleep(time.Second)
	// Backoff doubles from 100 ms: attempts at about 0, 0.1, 0.3, 0.7 s.
	if n := len(st.log()); n < 2 || n > 6 {
		t.Errorf("%d attempts in a second, want about 4 (backoff from 100 ms, doubling)", n)
	}
	st.refusing.Store(false)
	if err := r.wait(t, "a/1.m4s"); err != nil {
		t.Fatalf("reported %v once storage is back", err)
	}
}

func TestMemoryBound(t *testing.T) {
	st := newFaultStore(t)
	r := newReports()
	held, release := st.hold("a")
	w := start(t, st, Config{GiveUp: time.Minute, MaxBytes: 100, BatchAfter: time.Hour}, r)
	data := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }
	w.Enqueue(&Op[int]{Key: "a", Data: data(60)})
	<-held // a is being written and still counts
	b := &Op[int]{Key: "b", Data: data(60)}
	if got := w.Enqueue(b); len(got) != 1 || got[0] != b {
		t.Fatalf("enqueue b dropped %v, want b itself (what is written leaves no room)", keys(got))
	}
	w.Enqueue(&Op[int]{Key: "c", Data: data(30)})
	w.Enqueue(&Op[int]{Key: "init", Data: data(5), Durable: true})
	if got := w.Enqueue(&Op[int]{Key: "d", Data: data(30)}); !slices.Equal(keys(got), []string{"c"}) {
		t.Fatalf("enqueue d dropped %v, want the oldest segment c", keys(got))
	}
	if ops, n := w.Backlog(); ops != 2 || n != 95 {
		t.Errorf("backlog %d ops %d bytes, want 2 ops (init, d) and 95 bytes (a in flight counts)", ops, n)
	}
	release()
	idle(t, w)
	for _, k := range []string{"a", "init", "d"} {
		if err := r.wait(t, k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if r.has("b") || r.has("c") {
		t.Error("done was called for dropped ops (the caller resolves them)")
	}
}

func keys(ops []*Op[int]) []string {
	var ks []string
	for _, op := range ops {
		ks = append(ks, op.Key)
	}
	return ks
}

func TestStopReturnsUnwritten(t *testing.T) {
	st := newFaultStore(t)
	st.refusing.Store(true)
	r := newReports()
	w := Start(st, Config{GiveUp: time.Minute, BatchAfter: time.Hour}, nil, r.done)
	w.Enqueue(&Op[int]{Key: "a/1.m4s", Data: []byte("1")})
	w.Enqueue(&Op[int]{Key: "a/2.m4s", Data: []byte("2")})
	w.AddDeletes([]Delete{{Key: "old", Prefix: true}})
	left, dels := w.Stop()
	if got := keys(left); !slices.Equal(got, []string{"a/1.m4s", "a/2.m4s"}) {
		t.Errorf("Stop returned ops %v", got)
	}
	if len(dels) != 1 || dels[0].Key != "old" || !dels[0].Prefix {
		t.Errorf("Stop returned deletions %+v", dels)
	}
	if r.has("a/1.m4s") || r.has("a/2.m4s") {
		t.Error("done called for ops Stop returned")
	}
	if left, dels := w.Stop(); len(left)+len(dels) != 0 {
		t.Error("a second Stop returned something")
	}
}

// The owner's pattern: Enqueue under its lock, done taking that lock,
// Stop without it. Run with -race: it must neither race nor deadlock.
func TestOwnerLockOrder(t *testing.T) {
	st := newFaultStore(t)
	var mu sync.Mutex
	stored := 0
	w := Start(st, Config{GiveUp: time.Minute, MaxBytes: 1 << 10, BatchAfter: time.Millisecond}, nil,
		func(op *Op[int], err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				stored++
			}
		})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dropped := 0
	for i := range 300 {
		mu.Lock()
		dropped += len(w.Enqueue(&Op[int]{Key: fmt.Sprintf("s/%d.m4s", i%20), Data: make([]byte, 100), Ref: i}))
		w.SetBatch([]Object{{Key: "index.m3u8", Data: []byte(fmt.Sprint(i))}})
		mu.Unlock()
		if i%50 == 0 {
			st.refusing.Store(i%100 == 0)
		}
	}
	st.refusing.Store(false)
	if err := w.WaitDrained(ctx); err != nil {
		t.Fatalf("not drained: %v", err)
	}
	left, _ := w.Stop()
	mu.Lock()
	defer mu.Unlock()
	if stored+dropped+len(left) != 300 {
		t.Errorf("stored %d + dropped %d + left %d != 300 ops", stored, dropped, len(left))
	}
}
