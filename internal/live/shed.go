package live

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/transcode"
)

// replanner is what shedding needs of the transcoder.
type replanner interface {
	Status() transcode.Status
	Replan(transcode.Plan)
}

// shedder tracks, for a session's run loop, how long the transcoder has
// trailed real time, and how far the ladder has been degraded.
type shedder struct {
	over      time.Time // when the lag went over the limit; zero while under
	level     int
	exhausted bool // nothing left to shed, already logged
}

// checkLag sheds load when the transcoder persistently trails its input by
// more than ShedLag (1.5 segments, at least 3 s) for ShedAfter: the ladder
// restarts one step cheaper (transcode.Plan.Degrade), the backlog is
// dropped so the output jumps back to live, and the status shows the level
// and reason. The lag is input DTS less output DTS: input arrives in real
// time, so it is how far the output trails the wall clock.
func (s *session) checkLag(tc replanner, sh *shedder) {
	cfg := s.m.cfg
	if cfg.NoShedding || sh.exhausted {
		return
	}
	lag := tc.Status().Lag
	now := s.m.now()
	switch {
	case lag <= cfg.ShedLag:
		sh.over = time.Time{}
		return
	case sh.over.IsZero():
		sh.over = now
		return
	case now.Sub(sh.over) < cfg.ShedAfter:
		return
	}
	sh.over = time.Time{}
	v := s.view.Load()
	next, reason, ok := v.plan.Degrade()
	if !ok {
		sh.exhausted = true
		s.log.Warn("transcoder cannot keep up with real time and has no load left to shed", "lag", lag.Round(time.Millisecond), "level", sh.level)
		return
	}
	sh.level++
	s.log.Warn("transcoder cannot keep up with real time: shedding load", "reason", reason, "level", sh.level,
		"lag", lag.Round(time.Millisecond), "renditions", renditionNames(next))
	deg := &Degraded{Level: sh.level, Reason: reason, Since: now.UTC()}
	s.setView(func(v *sessionView) { v.plan, v.degraded = next, deg })
	tc.Replan(next)
}
