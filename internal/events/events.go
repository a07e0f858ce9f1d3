// Package events is Osprey's event bus: what other nodes must learn at once
// (rotated stream keys, channel and asset state, edge cache invalidations).
//
// Delivery is at-least-once and handlers must be idempotent (Event.ID is the
// dedup key). Two backends implement Bus: Local (in-process, the default) and
// events/nats (NATS JetStream, for several nodes).
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// Event is one published message.
type Event struct {
	ID      string    // unique per Publish (a handler's dedup key; NATS: Nats-Msg-Id)
	Subject string    // dot-separated, e.g. "osprey.channel.ch_1.key"
	Data    []byte    // opaque payload
	Time    time.Time // when published
}

// Handler handles one event. A non-nil error (or a panic, recovered) means
// "not handled": the event is delivered again later, with backoff.
type Handler func(ctx context.Context, e Event) error

// Bus publishes events and delivers them to subscriptions.
type Bus interface {
	// Publish sends data on subject (no wildcards). It returns once the
	// backend has accepted the event (NATS: the JetStream ack).
	Publish(ctx context.Context, subject string, data []byte) error
	// Subscribe delivers the events whose subject matches pattern (NATS
	// wildcards: * one token, > the rest) to h, in publish order per subject,
	// one at a time per subscription. Every subscription gets every matching
	// event (fan-out across nodes). With opts.Durable set, a subscription that
	// stops (or a node that restarts) resumes where it left off and gets what
	// was published meanwhile (within the retention); without it, only events
	// published after Subscribe returns. ctx bounds the Subscribe call only;
	// the subscription lasts until Stop or the bus's Close.
	Subscribe(ctx context.Context, pattern string, opts SubscribeOptions, h Handler) (Subscription, error)
	// Close is idempotent; it stops subscriptions and waits for running handlers.
	Close() error
}

// SubscribeOptions configures one subscription.
type SubscribeOptions struct {
	// Durable is a name unique per node and purpose, e.g. "edge-a.invalidate".
	// At most one live subscription per Durable name at a time.
	Durable string
}

// Subscription is one active Subscribe. Stop is idempotent and waits for the
// running handler, whose context it cancels.
type Subscription interface{ Stop() error }

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("events: bus closed")

// NewID returns a new random event ID (32 hex digits).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go >= 1.24)
	return hex.EncodeToString(b[:])
}

// Backoff is the redelivery delay after the n-th failed attempt (n >= 1):
// 100 ms doubling, capped at 30 s. Both backends use it.
func Backoff(n int) time.Duration {
	const (
		first = 100 * time.Millisecond
		max   = 30 * time.Second
	)
	if n < 1 {
		n = 1
	}
	if n > 10 {
		return max
	}
	return min(first<<(n-1), max)
}
