// Package writer stores a live session's objects in the background: one
// goroutine per session writes queued objects in order, retrying with
// backoff, and reports each one stored (or given up) to its owner.
//
// Three kinds of work, in this priority: queued objects (Op: segments and
// init segments, in queue order), the latest batch (Object: manifests and
// the state record, a newer batch superseding what the older one had not
// written), and due deletions (Delete), run after the batch that stopped
// listing them.
//
// Lock order: the owner (the packager) calls Enqueue, SetBatch and
// AddDeletes while holding its own lock, so the writer never calls the
// owner while holding the writer's lock: done runs without it, and Enqueue
// returns the ops it drops instead of reporting them. Never call Stop,
// WaitDrained or WaitIdle while holding a lock done takes.
package writer

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

// Defaults and tunables (no setting: see notes/issue10/s3faults-notes.md).
const (
	// DefaultMaxBytes bounds the segment bytes a session holds unwritten.
	DefaultMaxBytes = 64 << 20
	// attemptTimeout bounds one storage call of the writer.
	attemptTimeout = 10 * time.Second
	// Backoff after a failed write: doubling from backoffMin, at most
	// backoffMax.
	backoffMin = 100 * time.Millisecond
	backoffMax = 2 * time.Second
)

// Why an op was not stored, as reported to done (or returned by Enqueue
// and Stop).
var (
	ErrGaveUp  = errors.New("not stored before the give-up deadline")
	ErrNoRoom  = errors.New("dropped: too many unwritten segment bytes")
	ErrStopped = errors.New("writer stopped before it was stored")
)

// Config tunes a Writer.
type Config struct {
	// GiveUp is how long after it was queued an op that is not Durable is
	// retried before it is given up (ErrGaveUp); it also bounds the
	// retries of a deletion.
	GiveUp time.Duration
	// MaxBytes bounds the bytes of queued ops that are not Durable: the
	// oldest are dropped (ErrNoRoom) to make room; default DefaultMaxBytes.
	MaxBytes int64
	// BatchAfter is how long the latest batch may wait behind queued ops
	// before it is written first (a segment duration: viewers see the new
	// segments soon, and the batch never starves).
	BatchAfter time.Duration
}

// Op is an object the writer stores in queue order. Ref is the owner's:
// done gets the op back.
type Op[T any] struct {
	Key  string
	Data []byte
	// Durable ops never give up and are never dropped for room (init
	// segments: small, and needed by everything after them).
	Durable bool
	Ref     T

	deadline time.Time
	seq      uint64 // queue order
	attempts int
	retryAt  time.Time
}

// Object is one object of the latest batch.
type Object struct {
	Key  string
	Data []byte
}

// Delete is a due deletion: a key, or every key under a prefix.
type Delete struct {
	Key    string
	Prefix bool

	deadline time.Time
}

// Writer stores a session's objects in the background.
type Writer[T any] struct {
	store storage.Store
	log   *slog.Logger
	// done is called, without the writer's lock, for every op stored
	// (err nil) or given up.
	done func(op *Op[T], err error)

	mu         sync.Mutex
	cfg        Config
	queue      []*Op[T]
	bytes      int64
	batch      []Object
	batchSince time.Time
	deletes    []Delete
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

// Start starts a writer on store; Stop ends it. done is called on the
// writer's goroutine, without the writer's lock, once per op stored (err
// nil) or given up (ErrGaveUp, possibly joined with the last storage
// error); it may take the owner's lock.
func Start[T any](store storage.Store, cfg Config, log *slog.Logger, done func(op *Op[T], err error)) *Writer[T] {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer[T]{store: store, log: log, done: done, cfg: cfg, wake: make(chan struct{}, 1), cancel: cancel}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.run(ctx)
	}()
	return w
}

// SetLimits changes GiveUp and MaxBytes for the ops queued from now on.
func (w *Writer[T]) SetLimits(giveUp time.Duration, maxBytes int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg.GiveUp, w.cfg.MaxBytes = giveUp, maxBytes
}

func (w *Writer[T]) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Enqueue queues an op. It never blocks; it returns the oldest queued ops
// (not Durable) dropped to stay under MaxBytes (op itself when what is
// being written leaves no room), which the caller resolves as failed with
// ErrNoRoom: done is not called for them.
func (w *Writer[T]) Enqueue(op *Op[T]) (dropped []*Op[T]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !op.Durable {
		op.deadline = time.Now().Add(w.cfg.GiveUp)
		for w.bytes+int64(len(op.Data)) > w.cfg.MaxBytes {
			i := w.oldestDroppable()
			if i < 0 {
				break
			}
			d := w.queue[i]
			w.queue = append(w.queue[:i], w.queue[i+1:]...)
			w.bytes -= int64(len(d.Data))
			dropped = append(dropped, d)
		}
		if w.bytes+int64(len(op.Data)) > w.cfg.MaxBytes {
			// What is held is being written: op itself does not fit.
			return append(dropped, op)
		}
	}
	w.seq++
	op.seq = w.seq
	w.queue = append(w.queue, op)
	w.bytes += int64(len(op.Data))
	w.signal()
	return dropped
}

// oldestDroppable is the index of the first queued op that is not
// Durable, -1 if none.
func (w *Writer[T]) oldestDroppable() int {
	for i, op := range w.queue {
		if !op.Durable {
			return i
		}
	}
	return -1
}

// SetBatch replaces the latest batch's objects by items (written in that
// order: the state record first, then the manifests), keeping, after
// them, the objects of the older batch items do not replace.
func (w *Writer[T]) SetBatch(items []Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	merged := make([]Object, 0, len(items)+len(w.batch))
	merged = append(merged, items...)
	for _, old := range w.batch {
		replaced := false
		for _, it := range items {
			replaced = replaced || it.Key == old.Key
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

// AddDeletes queues due deletions, run after the latest batch is stored.
func (w *Writer[T]) AddDeletes(ds []Delete) {
	if len(ds) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range ds {
		ds[i].deadline = time.Now().Add(w.cfg.GiveUp)
	}
	w.deletes = append(w.deletes, ds...)
	w.signal()
}

// Backlog reports the queued ops and their bytes.
func (w *Writer[T]) Backlog() (ops int, bytes int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue), w.bytes
}

// drained reports whether every queued op is stored or given up (the
// latest batch and deletions aside).
func (w *Writer[T]) drained() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) == 0 && !w.busy
}

// idle reports whether nothing at all is left to write.
func (w *Writer[T]) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) == 0 && !w.busy && len(w.batch) == 0 && len(w.deletes) == 0
}

// WaitDrained waits until every queued op is stored or given up (the
// latest batch and deletions aside), or ctx is done.
func (w *Writer[T]) WaitDrained(ctx context.Context) error { return waitFor(ctx, w.drained) }

// WaitIdle waits until nothing at all is left to write, or ctx is done.
func (w *Writer[T]) WaitIdle(ctx context.Context) error { return waitFor(ctx, w.idle) }

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

// Stop ends the writer and returns the ops it never stored (done is not
// called for them) and the deletions it did not run. Calling Stop again
// returns nothing.
func (w *Writer[T]) Stop() ([]*Op[T], []Delete) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return nil, nil
	}
	w.stopped = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	left, dels := w.queue, w.deletes
	w.queue, w.bytes, w.batch, w.deletes = nil, 0, nil, nil
	return left, dels
}
func (w *Writer[T]) run(ctx context.Context) {
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
	return min(backoffMax, backoffMin<<min(max(n-1, 0), 10))
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
func (w *Writer[T]) step(ctx context.Context) time.Duration {
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
	var expired []*Op[T]
	kept := w.queue[:0]
	for _, op := range w.queue {
		if !op.deadline.IsZero() && now.After(op.deadline) {
			expired = append(expired, op)
			w.bytes -= int64(len(op.Data))
			continue
		}
		kept = append(kept, op)
	}
	clear(w.queue[len(kept):])
	w.queue = kept
	next := now.Add(time.Second) // deadlines are checked at least this often
	var op *Op[T]
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
			} else if op == nil || now.Sub(w.batchSince) >= w.cfg.BatchAfter {
				batchDue = true
				if op != nil { // back in its place
					w.queue = append([]*Op[T]{op}, w.queue...)
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
		w.done(o, ErrGaveUp)
	}
	var ok bool
	switch {
	case op != nil:
		ok = w.writeOne(ctx, op)
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
func sortedByEnqueue[T any](ops []*Op[T]) []*Op[T] {
	slices.SortStableFunc(ops, func(a, b *Op[T]) int { return cmp.Compare(a.seq, b.seq) })
	return ops
}

// writeOp stores op; on failure it goes back to the queue, to be retried
// after its backoff, unless its deadline passed (or the writer stops:
// stop returns it).
func (w *Writer[T]) writeOne(ctx context.Context, op *Op[T]) bool {
	err := w.put(ctx, op.Key, op.Data)
	w.mu.Lock()
	switch {
	case err == nil:
		w.bytes -= int64(len(op.Data))
	case ctx.Err() == nil && !op.deadline.IsZero() && time.Now().After(op.deadline):
		w.bytes -= int64(len(op.Data))
		err = errors.Join(ErrGaveUp, err)
	default:
		op.attempts++
		op.retryAt = time.Now().Add(backoff(op.attempts))
		w.queue = sortedByEnqueue(append(w.queue, op))
		w.mu.Unlock()
		if ctx.Err() == nil {
			w.log.Warn("storing segment object failed; retrying", "key", op.Key, "attempts", op.attempts, "error", err)
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
func (w *Writer[T]) writeBatch(ctx context.Context) bool {
	for {
		w.mu.Lock()
		if len(w.batch) == 0 {
			w.mu.Unlock()
			return true
		}
		it := w.batch[0]
		w.mu.Unlock()
		if err := w.put(ctx, it.Key, it.Data); err != nil {
			w.mu.Lock()
			w.batchAttempts++
			w.batchRetryAt = time.Now().Add(backoff(w.batchAttempts))
			w.mu.Unlock()
			w.log.Warn("storing manifest failed; retrying", "key", it.Key, "error", err)
			return false
		}
		w.mu.Lock()
		// A newer batch may have replaced the item meanwhile: drop it only
		// if it is still the one written.
		if len(w.batch) > 0 && w.batch[0].Key == it.Key && sameSlice(w.batch[0].Data, it.Data) {
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
func (w *Writer[T]) runDeletes(ctx context.Context) bool {
	w.mu.Lock()
	ds := w.deletes
	w.deletes = nil
	w.mu.Unlock()
	var failed []Delete
	for _, d := range ds {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		var err error
		if d.Prefix {
			err = w.store.DeletePrefix(actx, d.Key)
		} else {
			err = w.store.Delete(actx, d.Key)
		}
		cancel()
		switch {
		case err == nil:
		case time.Now().After(d.deadline):
			w.log.Warn("deleting expired object: giving up", "key", d.Key, "error", err)
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

func (w *Writer[T]) put(ctx context.Context, key string, data []byte) error {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	return w.store.Put(actx, key, data)
}
