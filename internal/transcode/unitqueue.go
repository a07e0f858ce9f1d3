package transcode

import (
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// unitQueue holds the input units waiting for ffmpeg's stdin, bounded by
// count and bytes. WriteUnit pushes without blocking; feed takes everything
// at once. feed is woken only when what waits should be written now: a
// video unit, audio spanning audioFlushSpan, or any unit of input without
// video. Audio alone does not wake it (a channel send per unit woke the
// feed goroutine ~80 times a second for a 720p30 channel with AAC; now
// about 30), and it is written with the next video unit, as before.
type unitQueue struct {
	maxUnits int
	maxBytes int64
	video    []bool        // by input track: is it video
	hasVideo bool          // the input has a video track
	ready    chan struct{} // capacity 1: a wake-up for feed

	mu    sync.Mutex
	units []queued
	bytes int64
	first time.Duration // DTS of the first unit since the last take
}

func newUnitQueue(maxUnits int, maxBytes int64, video []bool) *unitQueue {
	q := &unitQueue{maxUnits: maxUnits, maxBytes: maxBytes, video: video, ready: make(chan struct{}, 1)}
	for _, v := range video {
		q.hasVideo = q.hasVideo || v
	}
	return q
}

// push queues u unless a bound would be passed; false means it was not.
func (q *unitQueue) push(u queued) bool {
	q.mu.Lock()
	if len(q.units) >= q.maxUnits || q.bytes+u.size > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	if len(q.units) == 0 {
		q.first = u.unit.DTS
	}
	q.units = append(q.units, u)
	q.bytes += u.size
	wake := q.video[u.track] || !q.hasVideo || u.unit.DTS-q.first >= audioFlushSpan
	q.mu.Unlock()
	if wake {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// take returns every queued unit, in order. Their bytes still count
// against the bound until the caller releases them, unit by unit as it
// writes them: the units in the caller's hands and those queued behind
// them together stay within maxBytes. The caller clears the slice once
// written and passes it to the next take.
func (q *unitQueue) take(done []queued) []queued {
	clear(done)
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.units
	q.units = done[:0]
	return batch
}

// release gives back the bytes of taken units that are written (or will
// never be).
func (q *unitQueue) release(n int64) {
	q.mu.Lock()
	q.bytes -= n
	q.mu.Unlock()
}

// drop empties the queue and returns how many units it held.
func (q *unitQueue) drop() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.units)
	for _, u := range q.units {
		q.bytes -= u.size
	}
	clear(q.units)
	q.units = q.units[:0]
	return n
}

// queuedBytes is the weight of the units waiting or taken and not yet
// released.
func (q *unitQueue) queuedBytes() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// isVideo tells which tracks are video.
func isVideo(tracks []*media.Track) []bool {
	v := make([]bool, len(tracks))
	for i, t := range tracks {
		v[i] = t.Kind == media.Video
	}
	return v
}
