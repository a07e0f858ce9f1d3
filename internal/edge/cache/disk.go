package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// diskFile is the file of a disk entry. Refresh makes a new entry that
// shares its predecessor's file until the header is rewritten, so the file is
// unlinked when the last index entry using it leaves.
type diskFile struct {
	path    string
	bodyOff int64
	size    int64        // whole file: prefix, header and body
	refs    atomic.Int32 // index entries using the file
}

// errTooLarge is returned for an object that cannot fit the disk tier.
var errTooLarge = errors.New("too large for the disk tier")

// diskTier is the disk tier: one file per object, an otter index weighed in
// file bytes, a queue of writers, and a reaper that unlinks dropped files.
type diskTier struct {
	dir, tmpDir string
	limit       int64
	log         *slog.Logger
	now         func() time.Time
	idx         *index
	resident    atomic.Int64 // as memTier.resident

	deadMu sync.Mutex
	dead   []string      // files of dropped entries, to unlink
	reapMu sync.Mutex    // held while unlinking, so that reap returns once they are gone
	reapC  chan struct{} // wakes the reaper

	writer
	hookWrite func(key string) // tests: called by a writer before it writes a Put's file

	stop chan struct{}
	wg   sync.WaitGroup
}

// diskConfig configures a diskTier.
type diskConfig struct {
	dir     string
	limit   int64
	writers int
	queue   int
}

func openDisk(cfg diskConfig, ic indexConfig) (*diskTier, error) {
	d := &diskTier{
		dir:    cfg.dir,
		tmpDir: filepath.Join(cfg.dir, tmpDirName),
		limit:  cfg.limit,
		log:    ic.log,
		now:    ic.now,
		reapC:  make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	d.writer.init(cfg.queue)
	ic.limit = cfg.limit
	ic.weigh = func(e *Entry) uint32 {
		// otter calls the weigher exactly once per stored value.
		d.resident.Add(e.file.size)
		return uint32(e.file.size)
	}
	ic.onDrop = func(e *Entry) {
		d.resident.Add(-e.file.size)
		if e.file.refs.Add(-1) == 0 {
			d.bury(e.file.path)
		}
	}
	idx, err := newIndex(ic)
	if err != nil {
		return nil, fmt.Errorf("creating disk index: %w", err)
	}
	d.idx = idx
	err = d.prepareDir()
	if err == nil {
		err = d.scan()
	}
	if err != nil {
		idx.StopAllGoroutines()
		return nil, err
	}
	d.reap()
	d.wg.Add(1 + cfg.writers)
	go d.reaper()
	for range cfg.writers {
		go d.work()
	}
	return d, nil
}

// fileLimit is the largest file the tier stores: its budget, and what an
// otter weight can hold.
func (d *diskTier) fileLimit() int64 {
	return min(d.limit, math.MaxUint32)
}

// pathFor returns a new file name for key: Dir/xx/yy/<sha256(key)>-<random>.osc.
// A random suffix makes every version of a key a different file, so removing
// a replaced version never removes its successor.
func (d *diskTier) pathFor(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(d.dir, h[:2], h[2:4], fmt.Sprintf("%s-%016x%s", h, rand.Uint64(), fileExt))
}

// writeFile writes an entry file for m with the body read from body (m.Size
// bytes): to a temporary file first, renamed into place when complete.
func (d *diskTier) writeFile(m *Meta, body io.Reader) (*diskFile, error) {
	hdr, err := encodeHeader(m)
	if err != nil {
		return nil, err
	}
	size := int64(len(hdr)) + m.Size
	if size > d.fileLimit() {
		return nil, fmt.Errorf("writing %q: %d bytes: %w", m.Key, size, errTooLarge)
	}
	tmp, err := os.CreateTemp(d.tmpDir, "w-*")
	if err != nil {
		return nil, fmt.Errorf("writing %q: %w", m.Key, err)
	}
	_, err = tmp.Write(hdr)
	if err == nil {
		var n int64
		n, err = io.Copy(tmp, io.LimitReader(body, m.Size))
		if err == nil && n != m.Size {
			err = fmt.Errorf("body is %d bytes, want %d: %w", n, m.Size, io.ErrUnexpectedEOF)
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	path := d.pathFor(m.Key)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("writing %q: %w", m.Key, err)
	}
	f := &diskFile{path: path, bodyOff: int64(len(hdr)), size: size}
	f.refs.Store(1)
	return f, nil
}

// settle is memTier.settle for the disk tier.
func (d *diskTier) settle() {
	if d.resident.Load() > d.limit {
		d.idx.CleanUp()
	}
}

// bury queues path for unlinking. It runs under otter's locks: no I/O.
func (d *diskTier) bury(path string) {
	d.deadMu.Lock()
	d.dead = append(d.dead, path)
	d.deadMu.Unlock()
	select {
	case d.reapC <- struct{}{}:
	default:
	}
}

// reap unlinks the buried files; when it returns, every file buried before
// the call is gone.
func (d *diskTier) reap() {
	d.reapMu.Lock()
	defer d.reapMu.Unlock()
	d.deadMu.Lock()
	dead := d.dead
	d.dead = nil
	d.deadMu.Unlock()
	for _, p := range dead {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("removing dropped cache file", "path", p, "err", err)
		}
	}
}

func (d *diskTier) reaper() {
	defer d.wg.Done()
	for {
		select {
		case <-d.reapC:
			d.reap()
		case <-d.stop:
			return
		}
	}
}

// refresh applies update to the key's index entry (the file's header is
// rewritten by a writer) and to a queued write of the key.
func (d *diskTier) refresh(key string, update func(*Meta)) bool {
	indexed := refreshIndex(d.idx, key, update, func(cur *Entry, m Meta) *Entry {
		return &Entry{Meta: m, Tier: TierDisk, file: cur.file, dirty: true}
	}, func(ne *Entry) { ne.file.refs.Add(1) })
	if indexed {
		d.submitRewrite(key)
	}
	queued := d.refreshPending(key, update)
	return indexed || queued
}

// delete removes key, and cancels its queued write; its file is gone when
// delete returns.
func (d *diskTier) delete(key string) bool {
	cancelled := d.cancelPending(key)
	_, indexed := d.idx.Invalidate(key)
	d.reap()
	return cancelled || indexed
}

// deleteFunc removes every key for which match is true, and cancels their
// queued writes; it adds them to removed. Their files are gone when it
// returns.
func (d *diskTier) deleteFunc(match func(string) bool, removed map[string]struct{}) {
	d.cancelPendingFunc(match, removed)
	var keys []string
	for k := range d.idx.Keys() {
		if match(k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if _, ok := d.idx.Invalidate(k); ok {
			removed[k] = struct{}{}
		}
	}
	d.reap()
}

// flush waits for the queued writes, applies pending evictions and unlinks
// the dropped files.
func (d *diskTier) flush() {
	d.waitIdle()
	d.idx.CleanUp()
	d.reap()
}

// close finishes the queued writes, stops the goroutines and unlinks the
// dropped files.
func (d *diskTier) close() {
	d.closeQueue()
	d.idx.StopAllGoroutines()
	close(d.stop)
	d.wg.Wait()
	d.idx.CleanUp()
	d.reap()
}
