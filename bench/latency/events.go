package main

import (
	"fmt"
	"strings"
	"sync"
)

// transcoderEvents counts what osprey logged about its transcoder: load
// shed (a restart with a cheaper ladder), lag warnings, crashes.
type transcoderEvents struct {
	Sheds, Lags, Restarts int
}

func (e transcoderEvents) String() string {
	return fmt.Sprintf("%d sheds, %d lag warnings, %d restarts", e.Sheds, e.Lags, e.Restarts)
}

func (e transcoderEvents) any() bool { return e.Sheds+e.Lags+e.Restarts > 0 }

// eventCounter counts transcoder events from osprey's JSON log.
type eventCounter struct {
	mu sync.Mutex
	n  transcoderEvents
}

func (c *eventCounter) onLog(rec map[string]any) {
	msg, _ := rec["msg"].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case msg == "transcoder cannot keep up with real time: shedding load":
		c.n.Sheds++
	case msg == "transcoder is falling behind real time",
		msg == "transcoder cannot keep up with real time and has no load left to shed":
		c.n.Lags++
	case strings.HasPrefix(msg, "transcoder stopped while the publisher is live"):
		c.n.Restarts++
	}
}

// snapshot returns the counts so far.
func (c *eventCounter) snapshot() transcoderEvents {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
