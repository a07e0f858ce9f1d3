package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// QueueSize is the number of undelivered events a Local subscription holds.
// When it is full, Publish drops the new event for that subscription only,
// logs a warning and counts it (Local.Dropped); Publish never blocks.
const QueueSize = 4096

// Local is the in-process Bus: nothing is persisted across a restart, and
// nothing is lost while running unless a subscription's queue overflows.
// SubscribeOptions.Durable is accepted and only labels the subscription.
type Local struct {
	log     *slog.Logger
	dropped atomic.Uint64

	mu     sync.Mutex
	closed bool
	subs   map[*localSub]struct{}
}

var _ Bus = (*Local)(nil)

// NewLocal returns an in-process bus.
func NewLocal(log *slog.Logger) *Local {
	return &Local{log: log.With("component", "events.local"), subs: map[*localSub]struct{}{}}
}

// Dropped returns how many deliveries were dropped because a queue was full.
func (l *Local) Dropped() uint64 { return l.dropped.Load() }

// Publish queues the event for every matching subscription; it never blocks.
func (l *Local) Publish(ctx context.Context, subject string, data []byte) error {
	if err := ValidateSubject(subject); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publishing %s: %w", subject, err)
	}
	e := Event{ID: NewID(), Subject: subject, Data: append([]byte(nil), data...), Time: time.Now()}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("publishing %s: %w", subject, ErrClosed)
	}
	for s := range l.subs {
		if !Match(s.pattern, subject) {
			continue
		}
		select {
		case s.queue <- e:
		default:
			n := l.dropped.Add(1)
			l.log.Warn("subscription queue full, event dropped",
				"pattern", s.pattern, "durable", s.durable, "subject", subject, "id", e.ID, "dropped_total", n)
		}
	}
	return nil
}

// Subscribe starts delivering matching events published from now on.
func (l *Local) Subscribe(ctx context.Context, pattern string, opts SubscribeOptions, h Handler) (Subscription, error) {
	if err := ValidatePattern(pattern); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", pattern, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &localSub{
		bus: l, pattern: pattern, durable: opts.Durable, h: h,
		queue: make(chan Event, QueueSize), ctx: runCtx, cancel: cancel, done: make(chan struct{}),
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("subscribing to %s: %w", pattern, ErrClosed)
	}
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	go s.run()
	return s, nil
}

// Close stops every subscription and waits for their handlers. Idempotent.
func (l *Local) Close() error {
	l.mu.Lock()
	l.closed = true
	subs := make([]*localSub, 0, len(l.subs))
	for s := range l.subs {
		subs = append(subs, s)
	}
	l.mu.Unlock()
	for _, s := range subs {
		_ = s.Stop()
	}
	return nil
}

type localSub struct {
	bus     *Local
	pattern string
	durable string
	h       Handler
	queue   chan Event
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

func (s *localSub) Stop() error {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
		s.cancel()
	})
	<-s.done
	return nil
}

func (s *localSub) run() {
	defer close(s.done)
	for {
		select {
		case <-s.ctx.Done():
			return
		case e := <-s.queue:
			if !s.deliver(e) {
				return
			}
		}
	}
}

// deliver calls the handler until it succeeds; false when stopped first.
func (s *localSub) deliver(e Event) bool {
	for attempt := 1; ; attempt++ {
		err := Call(s.ctx, s.h, e)
		if err == nil {
			return true
		}
		if s.ctx.Err() != nil {
			return false
		}
		d := Backoff(attempt)
		s.bus.log.Warn("handler failed, will retry", "pattern", s.pattern, "durable", s.durable,
			"subject", e.Subject, "id", e.ID, "attempt", attempt, "retry_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// Call runs h, turning a panic into an error.
func Call(ctx context.Context, h Handler, e Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return h(ctx, e)
}
