package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// errStopped ends a publication that the operator stopped: the channel was
// deleted or its publisher disconnected.
var errStopped = errors.New("publication stopped by the operator")

// session is one publication of a channel; it implements ingest.Publication.
// It goes through these stages in order and never back: authorised (the
// publisher's key was accepted, its tracks are not known yet), started (the
// transcoder runs), closing (the transcoder drains or is killed and the
// manifests end) and closed (everything it ran has ended; the manager then
// forgets it and the channel is idle).
//
// One goroutine (run) owns the session's life: Start, Close and the
// operator's stop are commands sent to it, so a stop that arrives before
// Start means Start is refused and no transcoder ever runs, and a Start
// that arrives after the end is refused the same way. Only WriteUnit, the
// hot path, bypasses it: it reads the transcoder run published.
type session struct {
	m     *Manager
	ch    catalog.Channel
	req   ingest.Request
	since time.Time
	log   *slog.Logger

	cmds chan command
	done chan struct{} // closed when run has returned: nothing runs any more

	stopped atomic.Bool                          // WriteUnit refuses units: the session is closing
	tc      atomic.Pointer[transcode.Supervisor] // set by run once started
	view    atomic.Pointer[sessionView]          // what Status shows; replaced by run only
	anchor  atomic.Int64                         // Unix ns of session time 0

	out packagerOutput // the transcoder's output, into the packager

	// lease makes this the channel's only publication in the cluster;
	// run owns it (replaced when reclaimed, released when the session ends).
	lease lease.Lease
}

// sessionView is an immutable snapshot of the session for Status.
type sessionView struct {
	tracks   []*media.Track
	plan     transcode.Plan
	degraded *Degraded
}

type cmdKind int

const (
	cmdStart cmdKind = iota // the publisher's tracks are known
	cmdClose                // the publisher left (or its listener cut it)
	cmdStop                 // the operator ends the publication
)

type command struct {
	kind   cmdKind
	tracks []*media.Track // cmdStart
	cause  error          // cmdClose
	kill   bool           // cmdStop: kill the transcoder instead of letting it drain
	// abandon (with kill) leaves the manifests as they are: another node
	// has taken the channel and writes them now.
	abandon bool
	reply   chan error // cmdStart, buffered
}

func newSession(m *Manager, ch catalog.Channel, req ingest.Request, l lease.Lease) *session {
	s := &session{
		m:     m,
		ch:    ch,
		req:   req,
		lease: l,
		since: m.now().UTC(),
		log:   m.log.With("channel", ch.ID, "proto", req.Protocol, "remote", req.RemoteAddr.String()),
		cmds:  make(chan command),
		done:  make(chan struct{}),
	}
	s.out.s = s
	s.view.Store(&sessionView{})
	return s
}

// send hands c to run; false if the session has already ended.
func (s *session) send(c command) bool {
	select {
	case s.cmds <- c:
		return true
	case <-s.done:
		return false
	}
}

// Start plans the ladder for the publisher's tracks and starts the
// transcoder. The packager starts with the transcoder's first output.
func (s *session) Start(tracks []*media.Track) error {
	reply := make(chan error, 1)
	if !s.send(command{kind: cmdStart, tracks: tracks, reply: reply}) {
		return errStopped
	}
	return <-reply
}

// WriteUnit passes a publisher's unit to the transcoder.
func (s *session) WriteUnit(track int, u *media.Unit) error {
	if s.stopped.Load() {
		return errStopped
	}
	tc := s.tc.Load()
	if tc == nil {
		return errors.New("unit before the publication started")
	}
	// The wall-clock time of session time 0: the earliest arrival time less
	// the unit's DTS. Listeners may hand over the first units late (RTMP
	// reads ahead to find the tracks), so the minimum is the estimate.
	if a := time.Now().UnixNano() - int64(u.DTS); a < s.anchor.Load() || s.anchor.Load() == 0 {
		s.anchor.Store(a)
	}
	return tc.WriteUnit(track, u)
}

// Close ends the session: the transcoder finishes the last segments and the
// packager ends the playlists. It returns when all that is done.
func (s *session) Close(cause error) {
	s.send(command{kind: cmdClose, cause: cause})
	<-s.done
}

// stop ends the publication for the operator: the publisher's next unit
// is refused. kill stops the transcoder at once (the channel is being
// deleted) instead of letting it finish the last segments. stop returns
// once run has the command (or ctx is done); wait on s.done for the end.
func (s *session) stop(ctx context.Context, kill bool) {
	s.stopped.Store(true)
	select {
	case s.cmds <- command{kind: cmdStop, kill: kill}:
	case <-s.done:
	case <-ctx.Done():
	}
}

// run is the session's owner: it serves commands until the session has
// closed. While started, it also watches whether the transcoder keeps up.
func (s *session) run() {
	defer s.m.wg.Done()
	defer close(s.done)
	defer s.m.forget(s)
	defer func() { _ = s.lease.Release() }()
	var (
		tc     *transcode.Supervisor
		shed   shedder
		ticker *time.Ticker
		tick   <-chan time.Time
		lost   = s.lease.Lost()
		retry  *time.Timer
		again  <-chan time.Time
	)
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		select {
		case <-lost:
			// The lease table is out of reach (PostgreSQL restarting, or
			// this node cut off from it). The stream goes on while the
			// lease is reclaimed; only another node's holding it ends it.
			s.log.Warn("lost the channel's lease; reclaiming it while the stream goes on")
			lost = nil
			retry = time.NewTimer(leaseRetry)
			again = retry.C
		case <-again:
			l, err := s.reclaim()
			switch {
			case err == nil:
				s.lease, lost, again = l, l.Lost(), nil
				s.log.Info("reclaimed the channel's lease")
			case errors.Is(err, lease.ErrHeld):
				s.log.Error("another node has taken the channel while its lease was lost; ending this publication")
				s.finish(tc, command{kind: cmdStop, kill: true, abandon: true})
				return
			default:
				s.log.Debug("reclaiming the channel's lease", "err", err)
				retry.Reset(leaseRetry)
			}
		case c := <-s.cmds:
			switch c.kind {
			case cmdStart:
				if tc != nil {
					c.reply <- errors.New("publication already started")
					continue
				}
				var err error
				tc, err = s.start(c.tracks)
				c.reply <- err
				if tc != nil {
					ticker = time.NewTicker(time.Second)
					tick = ticker.C
				}
			case cmdClose, cmdStop:
				if lost == nil && !s.holdsLease() {
					c.abandon = true
				}
				s.finish(tc, c)
				return
			}
		case <-tick:
			s.checkLag(tc, &shed)
		}
	}
}

// leaseRetry is the pause between attempts to reclaim a lost lease.
const leaseRetry = time.Second

// reclaim takes the channel's lease again after it was lost.
func (s *session) reclaim() (lease.Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.m.cfg.Leases.Acquire(ctx, LeaseName(s.ch.ID))
}

// holdsLease is asked when the publication ends while its lease is lost:
// it tries once to reclaim it. Without the lease the playlists are not
// ended here: another node may have taken the channel (ending them would
// cut its viewers off), and if none has, the stale-session check ends
// them once the lease table answers again.
func (s *session) holdsLease() bool {
	l, err := s.reclaim()
	if err != nil {
		s.log.Warn("the publication ends without its channel's lease; leaving the playlists to the node that holds it", "err", err)
		return false
	}
	s.lease = l
	return true
}

// start moves the session from authorised to started.
func (s *session) start(tracks []*media.Track) (*transcode.Supervisor, error) {
	plan, err := transcode.NewPlan(s.m.cfg.Ladder, tracks)
	if err != nil {
		return nil, fmt.Errorf("planning the ladder: %w", err)
	}
	tc := transcode.Start(s.m.cfg.Transcode, plan, tracks, &s.out, s.log)
	s.tc.Store(tc)
	s.setView(func(v *sessionView) { v.tracks, v.plan = tracks, plan })
	s.log.Info("live", "input", trackNames(tracks), "renditions", renditionNames(plan))
	return tc, nil
}

// finish moves the session through closing to closed: the transcoder
// drains what it has (or is killed), then the packager ends the manifests
// under a deadline of their own, so that a drain that times out still
// leaves ended playlists. Commands that arrive meanwhile are answered: a
// late Start is refused, an operator's kill cuts the drain short.
func (s *session) finish(tc *transcode.Supervisor, c command) {
	s.stopped.Store(true)
	switch {
	case c.abandon:
		// logged by the caller
	case c.kind == cmdStop:
		s.log.Warn("publication stopped by the operator", "kill", c.kill)
	case c.cause != nil:
		s.log.Warn("publisher disconnected", "cause", c.cause)
	default:
		s.log.Info("publisher finished")
	}
	if tc == nil {
		return // never started: nothing runs
	}
	if c.kill {
		tc.Kill()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.m.cfg.DrainTimeout)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- tc.Close(ctx) }()
	for waiting := true; waiting; {
		select {
		case err := <-drained:
			if err != nil {
				s.log.Error("transcoder ended with an error", "err", err)
			}
			waiting = false
		case c := <-s.cmds:
			switch {
			case c.kind == cmdStart:
				c.reply <- errStopped
			case c.kind == cmdStop && c.kill:
				tc.Kill()
			}
		}
	}
	pkg := s.out.pkg.Load()
	switch {
	case pkg == nil:
	case c.abandon:
		// Another node may own the channel's manifests now: write nothing
		// more, not even what the packager still had queued.
		pkg.Abandon()
	default:
		ectx, cancel := context.WithTimeout(context.Background(), s.m.cfg.EndTimeout)
		defer cancel()
		if err := pkg.End(ectx); err != nil {
			s.log.Error("ending the playlists", "err", err)
		} else {
			// record: true makes the session an asset (in the background).
			s.m.recordSession(s.m.cfg.Recorder, s.ch, pkg.Dir(), s.log)
		}
	}
}

func (s *session) setView(change func(*sessionView)) {
	v := *s.view.Load()
	change(&v)
	s.view.Store(&v)
}

func (s *session) status() Status {
	since := s.since
	v := s.view.Load()
	st := Status{
		State:      "live",
		Protocol:   s.req.Protocol,
		RemoteAddr: s.req.RemoteAddr.String(),
		Since:      &since,
		Input:      trackNames(v.tracks),
		Renditions: renditionNames(v.plan),
		Degraded:   v.degraded,
	}
	if pkg := s.out.pkg.Load(); pkg != nil {
		ps := pkg.Stats()
		st.Packager = &PackagerStatus{
			Segments:     ps.SegmentsPublished,
			LastSegment:  ps.LastSegment,
			StoreBacklog: ps.StoreBacklog,
			BacklogBytes: ps.StoreBacklogBytes,
			StoreGaps:    ps.StoreGaps,
			StoreErrors:  ps.StoreErrors,
			Continued:    ps.Continued,
			EdgeDelay:    ps.EdgeDelay.Seconds(),
		}
	}
	if tc := s.tc.Load(); tc != nil {
		ts := tc.Status()
		st.Transcoder = &TranscoderStatus{
			Running:  ts.Running,
			Restarts: ts.Restarts,
			Speed:    ts.Speed,
			Lag:      ts.Lag.Seconds(),
			Behind:   ts.Behind,
			Dropped:  ts.Dropped,
		}
	}
	return st
}

func trackNames(ts []*media.Track) []string {
	var n []string
	for _, t := range ts {
		n = append(n, t.String())
	}
	return n
}

func renditionNames(p transcode.Plan) []string {
	var n []string
	for _, r := range p.Renditions {
		n = append(n, r.Name)
	}
	return n
}
