package nats

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ospreyvideo/osprey/internal/events"
)

// ephemeralInactive is how long the server keeps a non-durable consumer
// whose node vanished without Stop.
const ephemeralInactive = time.Minute

type sub struct {
	bus     *Bus
	pattern string
	durable string
	name    string // consumer name
	h       events.Handler
	ctx     context.Context
	cancel  context.CancelFunc
	cc      jetstream.ConsumeContext

	mu       sync.Mutex
	stopped  bool
	running  sync.WaitGroup
	stopOnce sync.Once
}

// Subscribe creates a consumer for pattern and starts delivering to h.
func (b *Bus) Subscribe(ctx context.Context, pattern string, opts events.SubscribeOptions, h events.Handler) (events.Subscription, error) {
	if err := events.ValidatePattern(pattern); err != nil {
		return nil, err
	}
	if b.isClosed() {
		return nil, fmt.Errorf("subscribing to %s: %w", pattern, events.ErrClosed)
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     b.wire(pattern),
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           AckWait,
		MaxAckPending:     1,
		MaxDeliver:        -1,
		InactiveThreshold: ephemeralInactive,
		// As many copies as the stream: JetStream makes ephemeral
		// consumers R1 otherwise, and one on a dead server never delivers
		// again. (Durables inherit the stream's count, and follow when it
		// changes.)
		Replicas: b.replicas,
	}
	if opts.Durable != "" {
		cfg.Replicas = 0
		cfg.Durable = consumerName(opts.Durable)
		cfg.InactiveThreshold = b.opts.Retention // a node gone longer than that lost its events anyway
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.opts.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s: creating consumer: %w", pattern, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &sub{bus: b, pattern: pattern, durable: opts.Durable, name: cons.CachedInfo().Name, h: h, ctx: runCtx, cancel: cancel}
	s.cc, err = cons.Consume(s.onMsg,
		jetstream.PullMaxMessages(4),
		jetstream.PullExpiry(10*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			b.log.Warn("consumer error", "pattern", pattern, "consumer", s.name, "err", err)
		}))
	if err != nil {
		cancel()
		s.deleteEphemeral()
		return nil, fmt.Errorf("subscribing to %s: consuming: %w", pattern, err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = s.Stop()
		return nil, fmt.Errorf("subscribing to %s: %w", pattern, events.ErrClosed)
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s, nil
}

// Stop ends delivery, waits for a running handler (its context is
// cancelled) and deletes an ephemeral consumer. Idempotent.
func (s *sub) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		s.cancel()
		s.cc.Stop()
		s.running.Wait()
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
		s.deleteEphemeral()
	})
	s.running.Wait()
	return nil
}

func (s *sub) deleteEphemeral() {
	if s.durable != "" || s.name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.bus.js.DeleteConsumer(ctx, s.bus.opts.Stream, s.name); err != nil {
		s.bus.log.Debug("deleting consumer", "consumer", s.name, "err", err) // expires by itself
	}
}

func (s *sub) onMsg(msg jetstream.Msg) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = msg.Nak() // a durable's next subscription gets it at once
		return
	}
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()

	e, delivered := s.decode(msg)
	stop := s.keepAlive(msg)
	err := events.Call(s.ctx, s.h, e)
	stop()
	if err == nil {
		if aerr := msg.Ack(); aerr != nil {
			s.bus.log.Warn("ack failed; event will be redelivered", "subject", e.Subject, "id", e.ID, "err", aerr)
		}
		return
	}
	if s.ctx.Err() != nil {
		_ = msg.Nak() // stopping: let the next subscriber of a durable have it at once
		return
	}
	d := events.Backoff(delivered)
	s.bus.log.Warn("handler failed, will retry", "pattern", s.pattern, "durable", s.durable,
		"subject", e.Subject, "id", e.ID, "attempt", delivered, "retry_in", d, "err", err)
	if nerr := msg.NakWithDelay(d); nerr != nil {
		s.bus.log.Warn("nak failed; event redelivered after AckWait", "id", e.ID, "err", nerr)
	}
}

// keepAlive extends the ack deadline while the handler runs.
func (s *sub) keepAlive(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// decode turns a stream message into an Event and its delivery count.
// Messages published by other tools get a sequence-based ID and the
// server's timestamp.
func (s *sub) decode(msg jetstream.Msg) (events.Event, int) {
	e := events.Event{Subject: s.bus.unwire(msg.Subject()), Data: msg.Data()}
	delivered := 1
	md, err := msg.Metadata()
	if err == nil {
		delivered = int(md.NumDelivered)
		e.Time = md.Timestamp
		e.ID = "seq-" + strconv.FormatUint(md.Sequence.Stream, 10)
	}
	h := msg.Headers()
	if id := h.Get(jetstream.MsgIDHeader); id != "" {
		e.ID = id
	}
	if ts, err := time.Parse(time.RFC3339Nano, h.Get(timeHeader)); err == nil {
		e.Time = ts
	}
	return e, delivered
}

// consumerName maps a Durable name to a valid JetStream consumer name
// ('.', '*', '>', '/', '\' and whitespace are not allowed); a hash of the
// original keeps distinct names distinct.
func consumerName(durable string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '*' || r == '>' || r == '/' || r == '\\' || r <= ' ' || r == 0x7f:
			return '_'
		}
		return r
	}, durable)
	if clean == durable {
		return durable
	}
	f := fnv.New32a()
	_, _ = f.Write([]byte(durable))
	return fmt.Sprintf("%s-%08x", clean, f.Sum32())
}
