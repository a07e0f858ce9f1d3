package edge

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// A body of unknown length (no Content-Length: chunked, or an origin that
// closes the connection) is read into the flight's buffer like any other,
// in case it turns out small enough to store. Once it grows past
// MaxObjectSize it can be neither stored nor held whole, so the flight
// turns into a pass-through stream with a bounded window:
//
//   - it leaves the flight map, so a viewer who asks from then on makes
//     its own origin request (it could not get the start of the body);
//   - the viewers already on it (their cursors were attached when they
//     joined, see join) get the whole body: the leader keeps the bytes
//     that the slowest of them has not written yet, and no more than
//     windowBytes; when the window is full it waits for that viewer
//     (backpressure: the flight goes at the pace of its slowest viewer,
//     as one viewer's own pass-through fetch would);
//   - the window is held in fixed-size chunks that are reused once every
//     viewer has written them, so a long body costs the window, not its
//     length;
//   - when its last viewer leaves, the origin request is dropped;
//   - a viewer who needs the whole body at once (a Range or a conditional
//     request, answered from a complete flight otherwise) gets its own
//     origin request instead.

// windowChunk is the unit in which a windowed flight holds its body.
const windowChunk = 64 << 10

// maxWindow caps a windowed flight's window (MaxObjectSize is smaller in
// small setups).
const maxWindow = 8 << 20

var (
	// errWindowed: the flight kept only a window of the body.
	errWindowed = errors.New("the body is too large to be held whole")
	// errFellBehind: a viewer asked for bytes the window no longer holds
	// (which the cursors prevent; this is a guard).
	errFellBehind = errors.New("the viewer fell behind the flight's window")
	// errNoViewers: every viewer of a windowed flight left.
	errNoViewers = errors.New("no viewer left")
)

// window is the part of a windowed flight's body still held: chunks, the
// first starting at body offset off. The last chunk may have spare
// capacity, which the leader fills (viewers only see up to its length).
type window struct {
	on     bool
	chunks [][]byte
	off    int64    // body offset of chunks[0]
	total  int64    // body bytes read so far
	free   [][]byte // chunks every viewer is done with, for reuse
}

// at returns the bytes held from body offset off on.
func (w *window) at(off int64) (chunk []byte, behind bool) {
	if off < w.off {
		return nil, true
	}
	o := w.off
	for _, ch := range w.chunks {
		if off < o+int64(len(ch)) {
			return ch[off-o:], false
		}
		o += int64(len(ch))
	}
	return nil, false
}

// held is the memory the window holds, spare capacity included.
func (w *window) held() int64 {
	var n int64
	for _, ch := range w.chunks {
		n += int64(cap(ch))
	}
	return n
}

// drop releases the leading chunks that end at or before off.
func (w *window) drop(off int64) {
	for len(w.chunks) > 0 {
		ch := w.chunks[0]
		end := w.off + int64(len(ch))
		if end > off {
			return
		}
		w.chunks[0] = nil
		w.chunks = w.chunks[1:]
		w.off = end
		if cap(ch) == windowChunk {
			w.free = append(w.free, ch[:0])
		}
	}
}

// windowBytes is the most a windowed flight holds.
func (e *Edge) windowBytes() int64 {
	return max(min(e.cfg.MaxObjectSize, maxWindow), 2*windowChunk)
}

// streamWindowed turns f into a pass-through stream (see above) and reads
// the rest of the body; buf is what was read so far. The caller closes got.
func (e *Edge) streamWindowed(f *flight, got *fetched, buf []byte, idle *time.Timer, idleLimit time.Duration) {
	e.leave(f)
	f.mu.Lock()
	f.win = window{on: true, chunks: [][]byte{buf}, total: int64(len(buf))}
	f.buf = nil
	f.mu.Unlock()
	e.log.Debug("body past max_object_size with no length: streaming through", "path", f.path, "limit", e.cfg.MaxObjectSize)

	limit := e.windowBytes()
	var readErr error
	for {
		space, err := e.room(f, limit, idle)
		if err != nil {
			if !errors.Is(err, errNoViewers) {
				readErr = err
			}
			break
		}
		idle.Reset(idleLimit)
		n, err := got.resp.Body.Read(space[len(space):cap(space)])
		if n > 0 {
			f.mu.Lock()
			last := len(f.win.chunks) - 1
			f.win.chunks[last] = f.win.chunks[last][:len(f.win.chunks[last])+n]
			f.win.total += int64(n)
			wake := f.wake
			f.wake = make(chan struct{})
			f.mu.Unlock()
			close(wake)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("reading from origin %s: %w", got.origin.name, err)
			e.log.Warn("origin body failed", "path", f.path, "err", readErr)
			break
		}
	}
	f.mu.Lock()
	f.end = true
	f.bodyErr = readErr
	f.win.free = nil
	wake := f.wake
	f.wake = make(chan struct{})
	f.mu.Unlock()
	close(wake)
}

// room returns the chunk to read into next, its free space after its
// length, once the window has room: it drops what every viewer has written
// and waits for the slowest viewer while the window is full. It fails with
// errNoViewers when no viewer is left, and when the edge closes.
func (e *Edge) room(f *flight, limit int64, idle *time.Timer) ([]byte, error) {
	f.mu.Lock()
	for {
		if len(f.cursors) == 0 {
			f.mu.Unlock()
			return nil, errNoViewers
		}
		slowest := f.win.total
		for c := range f.cursors {
			slowest = min(slowest, c.off)
		}
		f.win.drop(slowest)
		if n := len(f.win.chunks); n > 0 {
			if last := f.win.chunks[n-1]; len(last) < cap(last) {
				f.mu.Unlock()
				return last, nil
			}
		}
		if f.win.held()+windowChunk <= limit || len(f.win.chunks) == 0 {
			var ch []byte
			if k := len(f.win.free); k > 0 {
				ch, f.win.free = f.win.free[k-1], f.win.free[:k-1]
			} else {
				ch = make([]byte, 0, windowChunk)
			}
			f.win.chunks = append(f.win.chunks, ch)
			f.mu.Unlock()
			return ch, nil
		}
		// Full: wait for the slowest viewer. The origin is not idle
		// meanwhile, it is waiting for us.
		f.mu.Unlock()
		idle.Stop()
		select {
		case <-f.moved:
		case <-e.ctx.Done():
			return nil, e.ctx.Err()
		}
		f.mu.Lock()
	}
}
