package nats

import (
	"context"
	"errors"
	"fmt"
)

// Ping checks that the server answers and that JetStream holds the stream,
// for readiness probes: a node without events would miss key rotations.
func (b *Bus) Ping(ctx context.Context) error {
	if b.isClosed() {
		return errors.New("events/nats: bus closed")
	}
	if !b.nc.IsConnected() {
		return fmt.Errorf("events/nats: not connected (%s)", b.nc.Status())
	}
	if _, err := b.js.Stream(ctx, b.opts.Stream); err != nil {
		return fmt.Errorf("events/nats: stream %s: %w", b.opts.Stream, err)
	}
	return nil
}
