package cache

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"sync"

	"github.com/maypok86/otter/v2"
)

// jobState is where a queued disk write stands.
type jobState uint8

const (
	jobQueued jobState = iota
	jobWriting
	jobDone
	jobCancelled
)

// job is a queued disk write: a Put (body set) or a header rewrite after
// Refresh (body nil, key only).
type job struct {
	key     string
	rewrite bool
	body    []byte

	mu    sync.Mutex
	state jobState
	meta  Meta // Refresh may update it until the entry is indexed
	stale bool // meta changed after the file was written: rewrite it
}

// cancel stops the job unless it is done or cancelled already, and reports
// whether it stopped it.
func (j *job) cancel() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state != jobQueued && j.state != jobWriting {
		return false
	}
	j.state = jobCancelled
	return true
}

// writer is the disk tier's queue of writes.
type writer struct {
	queue  chan *job
	sendMu sync.RWMutex // read-held while sending, so that closeQueue never races a send
	closed bool

	pendMu  sync.Mutex
	pending map[string]*job // the latest Put job of each key, until it is done

	busyMu sync.Mutex
	busy   int // jobs queued or running
	idle   sync.Cond
}

func (w *writer) init(size int) {
	w.queue = make(chan *job, size)
	w.pending = make(map[string]*job)
	w.idle.L = &w.busyMu
}

// send queues j, or reports false if the queue is full or closed.
func (w *writer) send(j *job) bool {
	w.sendMu.RLock()
	defer w.sendMu.RUnlock()
	if w.closed {
		return false
	}
	w.addBusy(1)
	select {
	case w.queue <- j:
		return true
	default:
		w.addBusy(-1)
		return false
	}
}

func (w *writer) addBusy(n int) {
	w.busyMu.Lock()
	w.busy += n
	if w.busy == 0 {
		w.idle.Broadcast()
	}
	w.busyMu.Unlock()
}

// waitIdle waits until no job is queued or running.
func (w *writer) waitIdle() {
	w.busyMu.Lock()
	for w.busy > 0 {
		w.idle.Wait()
	}
	w.busyMu.Unlock()
}

// closeQueue refuses further jobs; the writers finish the queued ones.
func (w *writer) closeQueue() {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
}

// claim prepares a Put of meta: it cancels the key's queued write, drops its
// index entry (the file is unlinked by the reaper) and, if store is true and
// the object can fit the tier, registers a new job and returns it for submit.
func (d *diskTier) claim(meta Meta, body []byte, store bool) *job {
	var j *job
	if store && int64(prefixLen)+meta.Size <= d.fileLimit() {
		j = &job{key: meta.Key, meta: meta, body: body}
	}
	d.pendMu.Lock()
	old := d.pending[meta.Key]
	if j != nil {
		d.pending[meta.Key] = j
	} else {
		delete(d.pending, meta.Key)
	}
	d.pendMu.Unlock()
	if old != nil {
		old.cancel()
	}
	// After the cancel: a write of the old job that got indexed first is
	// dropped here.
	d.idx.Invalidate(meta.Key)
	return j
}

// submit queues a claimed job; a full queue drops it.
func (d *diskTier) submit(j *job) {
	if d.send(j) {
		return
	}
	d.forget(j)
	d.log.Debug("disk write queue full, not storing", "key", j.key)
}

// submitRewrite queues a rewrite of key's file header.
func (d *diskTier) submitRewrite(key string) {
	if !d.send(&job{key: key, rewrite: true}) {
		d.log.Debug("disk write queue full, header not rewritten", "key", key)
	}
}

// forget removes j from the pending jobs if it is still the key's latest.
func (d *diskTier) forget(j *job) {
	d.pendMu.Lock()
	if d.pending[j.key] == j {
		delete(d.pending, j.key)
	}
	d.pendMu.Unlock()
}

// cancelPending cancels key's queued write.
func (d *diskTier) cancelPending(key string) bool {
	d.pendMu.Lock()
	j := d.pending[key]
	delete(d.pending, key)
	d.pendMu.Unlock()
	return j != nil && j.cancel()
}

// cancelPendingFunc cancels the queued writes of the keys for which match is
// true, and adds them to removed.
func (d *diskTier) cancelPendingFunc(match func(string) bool, removed map[string]struct{}) {
	var jobs []*job
	d.pendMu.Lock()
	for k, j := range d.pending {
		if match(k) {
			jobs = append(jobs, j)
			delete(d.pending, k)
		}
	}
	d.pendMu.Unlock()
	for _, j := range jobs {
		if j.cancel() {
			removed[j.key] = struct{}{}
		}
	}
}

// refreshPending applies update to the Meta of key's queued write. If the
// file is being written, the entry is indexed with the new Meta and its
// header rewritten after.
func (d *diskTier) refreshPending(key string, update func(*Meta)) bool {
	d.pendMu.Lock()
	j := d.pending[key]
	d.pendMu.Unlock()
	if j == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch j.state {
	case jobQueued:
		j.meta = applyUpdate(&j.meta, update)
		return true
	case jobWriting:
		j.meta = applyUpdate(&j.meta, update)
		j.stale = true
		return true
	default:
		return false
	}
}

// work runs queued jobs until the queue is closed and drained.
func (d *diskTier) work() {
	defer d.wg.Done()
	for j := range d.queue {
		if j.rewrite {
			d.runRewrite(j.key)
		} else {
			d.runPut(j)
		}
		d.addBusy(-1)
	}
}

func (d *diskTier) runPut(j *job) {
	defer d.forget(j)
	j.mu.Lock()
	if j.state != jobQueued {
		j.mu.Unlock()
		return
	}
	j.state = jobWriting
	meta := j.meta
	j.mu.Unlock()
	if d.hookWrite != nil {
		d.hookWrite(j.key)
	}

	if !meta.expires().After(d.now()) {
		return
	}
	f, err := d.writeFile(&meta, bytes.NewReader(j.body))
	if err != nil {
		d.logWriteError(err)
		return
	}
	j.mu.Lock()
	if j.state == jobCancelled {
		j.mu.Unlock()
		d.removeFile(f.path)
		return
	}
	e := &Entry{Meta: meta, Tier: TierDisk, file: f}
	if j.stale {
		e.Meta, e.dirty = j.meta, true
	}
	// Indexed under j.mu: a cancel either comes first (and the file is
	// removed above) or finds the job done, and then its index removal
	// comes after this write.
	d.idx.Set(j.key, e)
	j.state = jobDone
	j.mu.Unlock()
	d.settle()
	if e.dirty {
		d.submitRewrite(j.key)
	}
}

// runRewrite writes a new file for key's entry if its Meta is newer than its
// file's header (after Refresh), and swaps it in.
func (d *diskTier) runRewrite(key string) {
	oe, ok := d.idx.GetEntryQuietly(key)
	if !ok || !oe.Value.dirty {
		return
	}
	cur := oe.Value
	src, err := cur.Open()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.dropIf(key, cur)
			return
		}
		d.logWriteError(err)
		return
	}
	meta := cur.Meta
	f, err := d.writeFile(&meta, src)
	_ = src.Close()
	if err != nil {
		d.logWriteError(err)
		return
	}
	ne := &Entry{Meta: meta, Tier: TierDisk, file: f}
	swapped := false
	d.idx.ComputeIfPresent(key, func(old *Entry) (*Entry, otter.ComputeOp) {
		if old != cur {
			return old, otter.CancelOp
		}
		swapped = true
		return ne, otter.WriteOp
	})
	if !swapped {
		// Replaced or removed meanwhile: its successor has its own file.
		d.removeFile(f.path)
		return
	}
	d.settle()
}

// dropIf removes key's entry if it is still e.
func (d *diskTier) dropIf(key string, e *Entry) {
	d.idx.ComputeIfPresent(key, func(old *Entry) (*Entry, otter.ComputeOp) {
		if old != e {
			return old, otter.CancelOp
		}
		return nil, otter.InvalidateOp
	})
}

func (d *diskTier) logWriteError(err error) {
	if errors.Is(err, errTooLarge) {
		d.log.Debug("not storing on disk", "err", err)
		return
	}
	d.log.Warn("disk cache write failed", "err", err)
}

// removeFile unlinks a file that no index entry uses.
func (d *diskTier) removeFile(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("removing cache file", "path", path, "err", err)
	}
}
