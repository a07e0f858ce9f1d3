package packager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/window"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// ErrEnded is returned by calls after End or Abandon.
var ErrEnded = errors.New("packager: session ended")

// storeTimeout bounds one storage call made from WriteUnit or Begin.
const storeTimeout = 15 * time.Second

// Rendition is one output of the transcoder's ladder.
type Rendition = cut.Rendition

// Live packages one live session of a channel. Its methods are safe for
// concurrent use; units are expected from one goroutine.
type Live struct {
	mu     sync.Mutex
	store  storage.Store
	prefix string
	// dir is where the session's renditions live under the prefix ("s{k}";
	// "" for a session of the earlier layout).
	dir string
	// ctx bounds the synchronous reads and writes (state.json at NewLive,
	// what End and Recover write themselves): NewLive's, then End's.
	ctx    context.Context
	log    *slog.Logger
	segDur time.Duration // target segment duration, the cutting grid's step

	ep         *epoch // the epoch being cut
	publishDue bool   // a segment closed since the last publish
	dropped    int64  // units dropped by the cutters of earlier epochs

	storeErrors int64

	cfg     Config
	startNS int64 // sessionStart, nanoseconds since the Unix epoch

	// st is the window and what state.json keeps (package window).
	st *window.State
	// ll is the low-latency edge (ll.go); nil without parts.
	ll *llState

	epochs   int
	ended    bool
	multivar []byte // the multivariant playlist last written
	// awaiting: the previous session may be continued (continue.go); the
	// first Begin decides, by its ladder.
	awaiting bool

	// Background writes (writer.go): nil before NewLive starts it and
	// once End stopped it (then every write is made at once).
	w         *writer.Writer[opRef]
	staged    []staged          // complete slots waiting for their objects, in order
	marks     map[uint64]*marks // by segment number, until the slot is staged
	ending    bool              // End is draining the writer: it writes the manifests
	storeGaps int64             // segment objects given up (listed as gaps)

	// dvr is the DVR index (dvr.go); nil without Config.DVRWindow.
	dvr *dvrState
}

// NewLive prepares packaging of one live session of a channel under prefix
// (e.g. "live/ch_abc"). sessionStart is the wall-clock instant of session
// time 0. It loads prefix+"/state.json" so that segment numbers and init
// versions continue where the channel's previous session left them.
//
// If that session was left live (the process stopped without End) and
// published within cfg.ContinueGrace, the first Begin decides: the same
// renditions continue it (continue.go), another ladder ends it. If it was
// left live longer ago, NewLive first ends its manifests as Recover would;
// failing that, it logs the error and goes on (End tries again if this
// session publishes nothing, and its first publish replaces them anyway).
func NewLive(ctx context.Context, store storage.Store, prefix string, sessionStart time.Time, cfg Config, log *slog.Logger) (*Live, error) {
	l, err := openLive(context.WithoutCancel(ctx), store, prefix, sessionStart, cfg, log)
	if err != nil {
		return nil, err
	}
	if l.cfg.DVRWindow > 0 {
		l.openDVR()
	}
	if l.st.Continuable() {
		l.awaiting = true
		l.log.Info("the previous session was left live: the first ladder with its renditions continues it",
			"dir", l.st.Previous().Dir, "last_publish", l.st.Previous().Published)
		l.startWriter()
		return l, nil
	}
	l.startSession()
	if _, err := l.endPrevious(); err != nil {
		l.log.Error("ending the interrupted previous session", "error", err)
	}
	l.startWriter()
	return l, nil
}

// startWriter starts the background writer; End stops it.
func (l *Live) startWriter() {
	l.w = writer.Start(l.store, l.writerConfig(), l.log, l.written)
	if l.dvr != nil {
		l.startRetainer()
	}
}

// minWriteGiveUp is the least a segment object is retried; the give-up
// deadline is max(minWriteGiveUp, Window*SegmentDuration): a backlog older
// than a whole window leaves the playlists as soon as it is listed, so
// keeping it longer would only hold memory.
const minWriteGiveUp = 30 * time.Second

func (l *Live) writerConfig() writer.Config {
	return writer.Config{
		GiveUp:     max(minWriteGiveUp, time.Duration(l.cfg.Window)*l.cfg.SegmentDuration),
		BatchAfter: l.cfg.SegmentDuration,
	}
}

// liveOp is an object of the session stored by the background writer.
type liveOp = writer.Op[opRef]

// opRef says whose object an op is: the packager resolves it when the op
// is done. track < 0: the init segment of the slot's epoch.
type opRef struct {
	m     *marks
	track int
	dvr   bool // a sealed DVR chunk
}

// openLive builds a Live on the channel's state.json without touching
// anything else.
func openLive(ctx context.Context, store storage.Store, prefix string, sessionStart time.Time, cfg Config, log *slog.Logger) (*Live, error) {
	if store == nil {
		return nil, errors.New("packager: nil store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	l := &Live{
		store:   store,
		prefix:  prefix,
		ctx:     ctx,
		log:     log.With("stage", "packager", "prefix", prefix),
		segDur:  cfg.SegmentDuration,
		cfg:     cfg,
		startNS: sessionStart.UnixNano(),
	}
	if cfg.PartDuration > 0 {
		l.ll = newLLState()
	}
	if err := l.loadState(); err != nil {
		return nil, fmt.Errorf("packager: %w", err)
	}
	return l, nil
}

// startSession gives the session the next session directory of the
// channel (persisted with the next state.json, before any object is
// stored in it).
func (l *Live) startSession() {
	l.dir = l.st.StartSession()
	l.log = l.log.With("session", l.dir)
}

// Begin starts an epoch: called when the transcoder starts and again each
// time it restarts, possibly with new codec parameters. Open segments of the
// previous epoch are flushed and published; the next segment is marked
// discontinuous.
func (l *Live) Begin(renditions []Rendition) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return ErrEnded
	}
	h := cut.Handler{Number: l.allocSegment, Closed: l.closed}
	cc := cut.Config{StartNS: l.startNS, Handoff: true}
	if l.ll != nil {
		h.Part = l.part
		cc.PartDuration, cc.ProducerReference = l.cfg.PartDuration, true
	}
	ep, err := l.newEpoch(l.epochs+1, renditions, cc, h)
	if err != nil {
		return err
	}
	if l.awaiting {
		l.awaiting = false
		l.decideContinuation(renditions)
	}
	var flushErr error
	if l.ep != nil {
		flushErr = l.flushEpoch()
	}
	l.epochs++
	ep.disc = l.st.Published() || l.st.HadPrevious()
	if l.ep != nil {
		l.dropped += l.ep.cut.Dropped()
	}
	l.ep = ep
	names := make([]string, len(ep.streams))
	for i, st := range ep.streams {
		names[i] = st.Name
	}
	l.st.AddRenditions(names)
	l.log.Info("packager epoch started", "epoch", ep.index, "renditions", len(ep.streams), "lead", ep.streams[ep.lead].Name)
	return flushErr
}

// WriteUnit packages one access unit of the rendition with that index in
// the list given to Begin. It satisfies media.Sink.
func (l *Live) WriteUnit(rendition int, u *media.Unit) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return ErrEnded
	}
	if err := l.checkUnit(rendition); err != nil {
		return err
	}
	err := l.ep.cut.WriteUnit(rendition, u)
	if l.publishDue {
		l.publishDue = false
		if perr := l.publishReady(false); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	return nil
}

// End is called when the publisher left: open segments are flushed,
// the segments still queued for storage are given at most the writer's
// give-up deadline, and half of what ctx leaves (the rest is for the
// ended manifests); what is left unwritten becomes gaps. Then playlists
// get EXT-X-ENDLIST, the MPD becomes static and state is saved. Calling
// End again does nothing.
func (l *Live) End(ctx context.Context) error {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return nil
	}
	l.ended = true
	l.st.End()
	if l.ll != nil {
		l.ll.changed() // blocked requests: served from storage now
	}
	l.ending = true
	l.awaiting = false // never begun: the previous session ends below
	l.ctx = ctx
	var errs []error
	if l.ep != nil {
		if err := l.flushEpoch(); err != nil {
			errs = append(errs, err)
		}
	}
	w := l.w
	l.mu.Unlock()
	l.stopRetainer()
	var leftDeletes []writer.Delete
	if w != nil {
		wctx, cancel := context.WithTimeout(ctx, drainWait(ctx, l.writerConfig().GiveUp))
		if err := w.WaitDrained(wctx); err != nil {
			ops, bytes := w.Backlog()
			l.log.Warn("ending with segments not stored: they are listed as gaps", "objects", ops, "bytes", bytes)
		}
		cancel()
		var left []*liveOp
		left, leftDeletes = w.Stop()
		l.mu.Lock()
		l.w = nil
		for _, op := range left {
			if op.Ref.dvr { // a sealed chunk is never lost: stored now
				if err := l.put(op.Key, op.Data); err != nil {
					l.resolve(op, err)
				}
				continue
			}
			l.resolve(op, writer.ErrStopped)
		}
		_ = l.publishStaged(false) // ending: no manifests written here
	} else {
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	l.deleteNow(leftDeletes)
	if l.st.Published() {
		if err := l.writeManifests(true); err != nil {
			errs = append(errs, err) // state stays live: Recover will end it
		} else {
			l.st.Finalized()
		}
		if l.dvr != nil {
			l.dvrEnd()
		}
	} else if _, err := l.endPrevious(); err != nil {
		errs = append(errs, err)
	}
	l.runDeletes()
	if err := l.saveState(true); err != nil {
		errs = append(errs, err)
	}
	c := l.st.Counters()
	l.log.Info("packager session ended", "segments", c.SegmentsPublished, "last_segment", c.LastSegment)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("packager: ending session: %w", err)
	}
	return nil
}

// Abandon stops the session without ending its manifests and without
// writing anything more: the background writer stops at once and what it
// had queued is dropped. Call it instead of End when another node has
// taken the channel and writes its manifests now. Calls after End or
// Abandon do nothing; End after Abandon does nothing either.
func (l *Live) Abandon() {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended, l.ending = true, true
	if l.ll != nil {
		l.ll.changed()
	}
	w := l.w
	l.w = nil
	l.mu.Unlock()
	l.stopRetainer()
	if w != nil {
		left, dels := w.Stop()
		l.log.Warn("packager session abandoned: unwritten objects dropped", "objects", len(left), "deletions", len(dels))
	}
}

// drainWait is how long End waits for queued segments: giveUp, and at
// most half of the time ctx leaves.
func drainWait(ctx context.Context, giveUp time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return min(giveUp, time.Until(dl)/2)
	}
	return giveUp
}

// flushEpoch closes every open segment of the current epoch, as short as
// it may be, and publishes what can be.
func (l *Live) flushEpoch() error {
	l.endEpoch()
	return l.publishReady(false)
}

// Dir is the session's directory under the prefix ("s{k}"), "" before its
// first Begin.
func (l *Live) Dir() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dir
}
