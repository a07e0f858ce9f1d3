package packager

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// Background writes of a live session. WriteUnit never waits on storage:
// it hands closed segments to the writer, a goroutine per Live that stores
// them in order, retrying with backoff, and tells the packager when each
// object is stored (or given up) so that a segment is listed only once
// every object it needs is stored. Manifests and state.json are one
// "latest" batch, each newer batch superseding what the older one had not
// written yet; due deletions follow the batch that stopped listing them.
//
// A segment object gives up writeGiveUp after it was queued (its slot
// becomes an EXT-X-GAP entry for that rendition), and the oldest queued
// segments give up early when the queued bytes would exceed
// writeMaxBytes. Init segments, manifests and state.json never give up:
// they are small and needed by everything after them.

// Tunables of the writer (no setting: see notes/issue10/s3faults-notes.md).
const (
	// minWriteGiveUp is the least a segment object is retried; the give-up
	// deadline is max(minWriteGiveUp, Window*SegmentDuration): a backlog
	// older than a whole window leaves the playlists as soon as it is
	// listed, so keeping it longer would only hold memory.
	minWriteGiveUp = 30 * time.Second
	// writeMaxBytes bounds the segment bytes a session holds unwritten.
	writeMaxBytes = 64 << 20
	// writeAttemptTimeout bounds one storage call of the writer.
	writeAttemptTimeout = 10 * time.Second
	// Backoff after a failed write: doubling from writeBackoffMin, at most
	// writeBackoffMax.
	writeBackoffMin = 100 * time.Millisecond
	writeBackoffMax = 2 * time.Second
)

var (
	errGaveUp  = errors.New("not stored before the give-up deadline")
	errNoRoom  = errors.New("dropped: too many unwritten segment bytes")
	errStopped = errors.New("writer stopped before it was stored")
)

// writeOp is an object the writer stores in queue order.
type writeOp struct {
	key      string
	data     []byte
	deadline time.Time // zero: never gives up (init segments)
	// slot and track say whose object it is: the packager resolves it when
	// the op is done. track < 0: the init segment of the slot's epoch.
	slot  *slot
	track int

	seq      uint64 // queue order
	attempts int
	retryAt  time.Time
}

// kv is one object of the latest batch.
type kv struct {
	key  string
	data []byte
}

// delOp is a due deletion: a key, or every key under a prefix.
type delOp struct {
	key      string
	prefix   bool
	deadline time.Time
}

// writer stores a live session's objects in the background.
type writer struct {
	store storage.Store
	log   *slog.Logger
	// giveUp and maxBytes are set before the first op (tests change them
	// under mu) and only read afterwards.
	giveUp   time.Duration
	maxBytes int64
	segDur   time.Duration
	// done is called, without the writer's lock, for every op stored
	// (err nil) or given up.
	done func(op *writeOp, err error)

	mu         sync.Mutex
	queue      []*writeOp
	bytes      int64
	batch      []kv
	batchSince time.Time
	deletes    []delOp
	busy       bool // a step is writing (or reporting) something
	stopped    bool
	seq        uint64

	// Retry state: after a failure nothing is tried before pauseUntil;
	// the batch and the deletions have backoffs of their own, as ops do.
	failures      int
	pauseUntil    time.Time
	batchAttempts int
	batchRetryAt  time.Time
	delAttempts   int
	delRetryAt    time.Time

	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWriter(store storage.Store, log *slog.Logger, cfg Config, done func(*writeOp, error)) *writer {
	return &writer{
		store:    store,
		log:      log,
		giveUp:   max(minWriteGiveUp, time.Duration(cfg.Window)*cfg.SegmentDuration),
		maxBytes: writeMaxBytes,
		segDur:   cfg.SegmentDuration,
		done:     done,
		wake:     make(chan struct{}, 1),
	}
}

// start runs the writer until stop.
func (w *writer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.run(ctx)
	}()
}

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// enqueue queues a segment or init object. It never blocks; it returns
// the oldest queued segment ops dropped to stay under the memory bound
// (op itself when the op being written leaves no room), which the caller
// resolves as failed (done is not called for them).
func (w *writer) enqueue(op *writeOp) (dropped []*writeOp) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if op.track >= 0 {
		op.deadline = time.Now().Add(w.giveUp)
		for w.bytes+int64(len(op.data)) > w.maxBytes {
			i := w.oldestSegment()
			if i < 0 {
				break
			}
			d := w.queue[i]
			w.queue = append(w.queue[:i], w.queue[i+1:]...)
			w.bytes -= int64(len(d.data))
			dropped = append(dropped, d)
		}
		if w.bytes+int64(len(op.data)) > w.maxBytes {
			// What is held is being written: op itself does not fit.
			return append(dropped, op)
		}
	}
	w.seq++
	op.seq = w.seq
	w.queue = append(w.queue, op)
	w.bytes += int64(len(op.data))
	w.signal()
	return dropped
}

// oldestSegment is the index of the first queued segment op, -1 if none.
func (w *writer) oldestSegment() int {
	for i, op := range w.queue {
		if op.track >= 0 {
			return i
		}
	}
	return -1
}

// setBatch replaces the latest batch's objects by items (state.json
// first, then the manifests), keeping, after them, the objects of the
// older batch items do not replace.
func (w *writer) setBatch(items []kv) {
	w.mu.Lock()
	defer w.mu.Unlock()
	merged := make([]kv, 0, len(items)+len(w.batch))
	merged = append(merged, items...)
	for _, old := range w.batch {
		replaced := false
		for _, it := range items {
			replaced = replaced || it.key == old.key
		}
		if !replaced {
			merged = append(merged, old)
		}
	}
	if len(w.batch) == 0 {
		w.batchSince = time.Now()
	}
	w.batch = merged
	w.signal()
}

// addDeletes queues due deletions, run after the latest batch is stored.
func (w *writer) addDeletes(ds []delOp) {
	if len(ds) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range ds {
		ds[i].deadline = time.Now().Add(w.giveUp)
	}
	w.deletes = append(w.deletes, ds...)
	w.signal()
}

// backlog reports the queued objects and their bytes.
func (w *writer) backlog() (ops int, bytes int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue), w.bytes
}

// drained reports whether every queued object is stored or given up
// (the latest batch and deletions aside).
func (w *writer) drained() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) == 0 && !w.busy
}

// idle reports whether nothing at all is left to write.
func (w *writer) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) == 0 && !w.busy && len(w.batch) == 0 && len(w.deletes) == 0
}

// waitFor polls cond until it holds or ctx is done.
func waitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// stop ends the writer and returns the ops it never stored (done is not
// called for them) and the deletions it did not run. Calling stop again
// returns nothing.
func (w *writer) stop() ([]*writeOp, []delOp) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return nil, nil
	}
	w.stopped = true
	w.mu.Unlock()
	if w.cancel != nil {
		w.cancel()
	}
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	left, dels := w.queue, w.deletes
	w.queue, w.bytes, w.batch, w.deletes = nil, 0, nil, nil
	return left, dels
}

func (w *writer) run(ctx context.Context) {
	for ctx.Err() == nil {
		wait := w.step(ctx)
		if wait <= 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// backoff is the wait after n consecutive failures.
func backoff(n int) time.Duration {
	return min(writeBackoffMax, writeBackoffMin<<min(max(n-1, 0), 10))
}

// step gives up expired ops, then writes one thing: the oldest queued op
// not waiting for a retry, the latest batch (first when it has waited a
// segment duration), or the deletions. After a failure nothing is retried
// before a backoff (one probe per backoff while storage refuses writes:
// the writer is sequential, and a refused write may take seconds of SDK
// retries; the probe is an object tried least); a failed op is retried
// after its own backoff, so that one object storage keeps refusing never
// holds up the others. step returns how long to wait when there was
// nothing to do yet.
func (w *writer) step(ctx context.Context) time.Duration {
	now := time.Now()
	w.mu.Lock()
	// busy until the step is over, done callbacks included, so that idle
	// and drained never see a moment between an op and what it causes.
	w.busy = true
	defer func() {
		w.mu.Lock()
		w.busy = false
		w.mu.Unlock()
	}()
	var expired []*writeOp
	kept := w.queue[:0]
	for _, op := range w.queue {
		if !op.deadline.IsZero() && now.After(op.deadline) {
			expired = append(expired, op)
			w.bytes -= int64(len(op.data))
			continue
		}
		kept = append(kept, op)
	}
	clear(w.queue[len(kept):])
	w.queue = kept
	next := now.Add(time.Second) // deadlines are checked at least this often
	var op *writeOp
	batchDue, delDue := false, false
	if now.Before(w.pauseUntil) {
		next = w.pauseUntil
	} else {
		// The oldest eligible op; while writes fail, the one tried least
		// (oldest first), so that one object that keeps failing does not
		// keep the others from being probed.
		pick := -1
		for i, o := range w.queue {
			if o.retryAt.After(now) {
				next = minTime(next, o.retryAt)
				continue
			}
			if pick < 0 || w.failures > 0 && o.attempts < w.queue[pick].attempts {
				pick = i
			}
		}
		if pick >= 0 {
			op = w.queue[pick]
			w.queue = append(w.queue[:pick], w.queue[pick+1:]...)
		}
		if len(w.batch) > 0 {
			if w.batchRetryAt.After(now) {
				next = minTime(next, w.batchRetryAt)
			} else if op == nil || now.Sub(w.batchSince) >= w.segDur {
				batchDue = true
				if op != nil { // back in its place
					w.queue = append([]*writeOp{op}, w.queue...)
					w.queue = sortedByEnqueue(w.queue)
					op = nil
				}
			}
		}
		if op == nil && !batchDue && len(w.deletes) > 0 {
			if w.delRetryAt.After(now) {
				next = minTime(next, w.delRetryAt)
			} else {
				delDue = true
			}
		}
	}
	w.mu.Unlock()
	for _, o := range expired {
		w.done(o, errGaveUp)
	}
	var ok bool
	switch {
	case op != nil:
		ok = w.writeOp(ctx, op)
	case batchDue:
		ok = w.writeBatch(ctx)
	case delDue:
		ok = w.runDeletes(ctx)
	default:
		return max(time.Until(next), time.Millisecond)
	}
	w.mu.Lock()
	if ok {
		if w.failures > 0 {
			// Storage is back: retry everything at once, oldest first.
			for _, o := range w.queue {
				o.retryAt = time.Time{}
			}
			w.batchRetryAt, w.delRetryAt = time.Time{}, time.Time{}
		}
		w.failures = 0
	} else {
		w.failures++
		w.pauseUntil = time.Now().Add(backoff(w.failures))
	}
	w.mu.Unlock()
	return 0
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sortedByEnqueue orders ops by when they were queued.
func sortedByEnqueue(ops []*writeOp) []*writeOp {
	slices.SortStableFunc(ops, func(a, b *writeOp) int { return cmp.Compare(a.seq, b.seq) })
	return ops
}

// writeOp stores op; on failure it goes back to the queue, to be retried
// after its backoff, unless its deadline passed (or the writer stops:
// stop returns it).
func (w *writer) writeOp(ctx context.Context, op *writeOp) bool {
	err := w.put(ctx, op.key, op.data)
	w.mu.Lock()
	switch {
	case err == nil:
		w.bytes -= int64(len(op.data))
	case ctx.Err() == nil && !op.deadline.IsZero() && time.Now().After(op.deadline):
		w.bytes -= int64(len(op.data))
		err = errors.Join(errGaveUp, err)
	default:
		op.attempts++
		op.retryAt = time.Now().Add(backoff(op.attempts))
		w.queue = sortedByEnqueue(append(w.queue, op))
		w.mu.Unlock()
		if ctx.Err() == nil {
			w.log.Warn("storing segment object failed; retrying", "key", op.key, "attempts", op.attempts, "error", err)
		}
		return false
	}
	w.mu.Unlock()
	w.done(op, err)
	return err == nil
}

// writeBatch stores the latest batch in order, stopping at the first
// failure (what follows waits for it: state.json before the manifests
// that show its window).
func (w *writer) writeBatch(ctx context.Context) bool {
	for {
		w.mu.Lock()
		if len(w.batch) == 0 {
			w.mu.Unlock()
			return true
		}
		it := w.batch[0]
		w.mu.Unlock()
		if err := w.put(ctx, it.key, it.data); err != nil {
			w.mu.Lock()
			w.batchAttempts++
			w.batchRetryAt = time.Now().Add(backoff(w.batchAttempts))
			w.mu.Unlock()
			w.log.Warn("storing manifest failed; retrying", "key", it.key, "error", err)
			return false
		}
		w.mu.Lock()
		// A newer batch may have replaced the item meanwhile: drop it only
		// if it is still the one written.
		if len(w.batch) > 0 && w.batch[0].key == it.key && sameSlice(w.batch[0].data, it.data) {
			w.batch = w.batch[1:]
			if len(w.batch) == 0 {
				w.batch, w.batchAttempts = nil, 0
			}
		}
		w.mu.Unlock()
	}
}

func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// runDeletes tries every due deletion once; failed ones stay until their
// deadline.
func (w *writer) runDeletes(ctx context.Context) bool {
	w.mu.Lock()
	ds := w.deletes
	w.deletes = nil
	w.mu.Unlock()
	var failed []delOp
	for _, d := range ds {
		actx, cancel := context.WithTimeout(ctx, writeAttemptTimeout)
		var err error
		if d.prefix {
			err = w.store.DeletePrefix(actx, d.key)
		} else {
			err = w.store.Delete(actx, d.key)
		}
		cancel()
		switch {
		case err == nil:
		case time.Now().After(d.deadline):
			w.log.Warn("deleting expired object: giving up", "key", d.key, "error", err)
		default:
			failed = append(failed, d)
		}
	}
	w.mu.Lock()
	w.deletes = append(failed, w.deletes...)
	if len(failed) > 0 {
		w.delAttempts++
		w.delRetryAt = time.Now().Add(backoff(w.delAttempts))
	} else {
		w.delAttempts = 0
	}
	w.mu.Unlock()
	return len(failed) == 0
}

func (w *writer) put(ctx context.Context, key string, data []byte) error {
	actx, cancel := context.WithTimeout(ctx, writeAttemptTimeout)
	defer cancel()
	return w.store.Put(actx, key, data)
}
