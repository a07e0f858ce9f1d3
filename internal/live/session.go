package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// errStopped ends a publication that the operator stopped.
var errStopped = errors.New("channel stopped by the operator")

// session is one publication of a channel; it implements ingest.Publication.
type session struct {
	m     *Manager
	ch    catalog.Channel
	req   ingest.Request
	since time.Time
	log   *slog.Logger

	stopped   atomic.Bool
	closeOnce sync.Once
	doneCh    chan struct{}

	out    packagerOutput // the transcoder's output, into the packager
	anchor atomic.Int64   // Unix ns of session time 0

	mu     sync.Mutex
	tracks []*media.Track
	plan   transcode.Plan
	tc     *transcode.Supervisor
}

// Start plans the ladder for the publisher's tracks and starts the
// transcoder. The packager starts with the transcoder's first output.
func (s *session) Start(tracks []*media.Track) error {
	plan, err := transcode.NewPlan(s.m.cfg.Ladder, tracks)
	if err != nil {
		return fmt.Errorf("planning the ladder: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks, s.plan = tracks, plan
	s.out.s = s
	s.tc = transcode.Start(s.m.cfg.Transcode, plan, tracks, &s.out, s.log)
	s.log.Info("live", "input", trackNames(tracks), "renditions", renditionNames(plan))
	return nil
}

// WriteUnit passes a publisher's unit to the transcoder.
func (s *session) WriteUnit(track int, u *media.Unit) error {
	if s.stopped.Load() {
		return errStopped
	}
	// The wall-clock time of session time 0: the earliest arrival time less
	// the unit's DTS. Listeners may hand over the first units late (RTMP
	// reads ahead to find the tracks), so the minimum is the estimate.
	if a := time.Now().UnixNano() - int64(u.DTS); a < s.anchor.Load() || s.anchor.Load() == 0 {
		s.anchor.Store(a)
	}
	return s.tc.WriteUnit(track, u)
}

// Close ends the session: the transcoder finishes the last segments and the
// packager ends the playlists.
func (s *session) Close(cause error) {
	s.closeOnce.Do(func() {
		defer s.m.wg.Done()
		defer close(s.doneCh)
		defer s.m.forget(s)
		if cause != nil {
			s.log.Warn("publisher disconnected", "cause", cause)
		} else {
			s.log.Info("publisher finished")
		}
		s.mu.Lock()
		tc := s.tc
		s.mu.Unlock()
		if tc == nil {
			return // never started
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.m.cfg.DrainTimeout)
		defer cancel()
		if s.stopped.Load() {
			tc.Kill()
		}
		if err := tc.Close(ctx); err != nil {
			s.log.Error("transcoder ended with an error", "err", err)
		}
		if pkg := s.out.pkg.Load(); pkg != nil {
			if err := pkg.End(ctx); err != nil {
				s.log.Error("ending the playlists", "err", err)
			}
		}
	})
}

// stop asks the publisher to go away: its next unit is refused.
func (s *session) stop() {
	s.stopped.Store(true)
	s.mu.Lock()
	tc := s.tc
	s.mu.Unlock()
	if tc == nil {
		// Not started yet: nothing runs, end now.
		s.Close(errStopped)
	}
}

func (s *session) status() Status {
	since := s.since
	st := Status{
		State:      "live",
		Protocol:   s.req.Protocol,
		RemoteAddr: s.req.RemoteAddr.String(),
		Since:      &since,
	}
	s.mu.Lock()
	tracks, plan, tc := s.tracks, s.plan, s.tc
	s.mu.Unlock()
	st.Input = trackNames(tracks)
	st.Renditions = renditionNames(plan)
	if tc != nil {
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

// packagerOutput hands the transcoder's renditions to the packager, which
// it starts with the first output: by then the session's anchor to the wall
// clock has seen units arrive in real time, and EXT-X-PROGRAM-DATE-TIME and
// the DASH timeline tell when each frame reached Osprey.
type packagerOutput struct {
	s   *session
	pkg atomic.Pointer[packager.Live]
}

func (o *packagerOutput) Begin(rs []transcode.Rendition) error {
	pkg := o.pkg.Load()
	if pkg == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Unix(0, o.s.anchor.Load())
		var err error
		pkg, err = packager.NewLive(ctx, o.s.m.store, Prefix(o.s.ch.ID), start, o.s.m.cfg.Packager, o.s.log)
		if err != nil {
			return fmt.Errorf("starting the packager: %w", err)
		}
		o.pkg.Store(pkg)
	}
	prs := make([]packager.Rendition, len(rs))
	for i, r := range rs {
		prs[i] = packager.Rendition{Name: r.Name, Track: r.Track, Bitrate: r.Bitrate, MaxBitrate: r.MaxBitrate}
	}
	return pkg.Begin(prs)
}

func (o *packagerOutput) WriteUnit(i int, u *media.Unit) error { return o.pkg.Load().WriteUnit(i, u) }
