package soaklib

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// viewer plays one variant of a live HLS stream the way a player does:
// it polls the media playlist every half target duration and fetches each
// new segment once. A stall is the playlist not advancing for more than
// three target durations (counted once per episode).
type viewer struct {
	client *http.Client
	events *events
	stats  *counters
	// diagnose, if set, describes the channel's state for a stall report.
	diagnose func(context.Context) string
}

// counters are shared by all viewers.
type counters struct {
	segments, polls atomic.Int64
	stalls          atomic.Int64
}

func (v *viewer) run(ctx context.Context, playlistURL string) {
	base, err := url.Parse(playlistURL)
	if err != nil {
		v.events.errorf("viewer: %v", err)
		return
	}
	var (
		lastSeq     = int64(-1)
		lastAdvance = time.Now()
		stalled     = false
		initDone    = false
		wait        = time.Second
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		text, err := v.get(ctx, playlistURL)
		if ctx.Err() != nil {
			return
		}
		v.stats.polls.Add(1)
		if err != nil {
			v.events.errorf("viewer: playlist: %v", err)
			continue
		}
		p, err := parseMediaPlaylist(base, string(text))
		if err != nil {
			v.events.errorf("viewer: playlist %s: %v", playlistURL, err)
			continue
		}
		wait = p.targetDuration / 2
		if p.ended {
			v.events.errorf("viewer: playlist %s ended while the channel is live", playlistURL)
		}
		if !initDone && p.initURI != "" {
			if _, err := v.get(ctx, p.initURI); err != nil && ctx.Err() == nil {
				v.events.errorf("viewer: init segment: %v", err)
			} else {
				initDone = true
			}
		}
		now := time.Now()
		if seq := p.lastSequence(); seq > lastSeq {
			// Fetch what is new; on the first poll, only the live edge.
			from := max(lastSeq+1, seq)
			if lastSeq >= 0 {
				from = max(lastSeq+1, p.sequence)
			}
			for s := from; s <= seq; s++ {
				if _, err := v.get(ctx, p.segments[s-p.sequence]); err != nil {
					if ctx.Err() != nil {
						return
					}
					v.events.errorf("viewer: segment %d: %v", s, err)
					continue
				}
				v.stats.segments.Add(1)
			}
			lastSeq, lastAdvance, stalled = seq, now, false
		} else if d := now.Sub(lastAdvance); d > 3*p.targetDuration && !stalled {
			stalled = true
			v.stats.stalls.Add(1)
			why := ""
			if v.diagnose != nil {
				why = "; " + v.diagnose(ctx)
			}
			v.events.logf("STALL: %s has not advanced for %v (target duration %v)%s", playlistURL, d.Round(time.Millisecond), p.targetDuration, why)
		}
	}
}

// get fetches a URL, which must answer 200, and returns its body.
func (v *viewer) get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return body, nil
}
