package events_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/events/eventstest"
)

func TestLocalConformance(t *testing.T) {
	eventstest.Run(t, eventstest.Options{NoPersistence: true}, func(t *testing.T) (events.Bus, events.Bus) {
		l := events.NewLocal(slog.New(slog.NewTextHandler(io.Discard, nil)))
		t.Cleanup(func() { _ = l.Close() })
		return l, l
	})
}

func TestLocalOverflowDropsAndCounts(t *testing.T) {
	l := events.NewLocal(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer l.Close()
	ctx := context.Background()
	block, started := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow, err := l.Subscribe(ctx, "osprey.x", events.SubscribeOptions{}, func(ctx context.Context, e events.Event) error {
		once.Do(func() { close(started) })
		<-block
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fast := make(chan events.Event, 1)
	other, err := l.Subscribe(ctx, "osprey.x", events.SubscribeOptions{}, func(_ context.Context, e events.Event) error {
		fast <- e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Publish(ctx, "osprey.x", nil); err != nil {
		t.Fatal(err)
	}
	<-started // the slow handler holds event 1
	<-fast
	if err := l.Publish(ctx, "osprey.x", nil); err != nil {
		t.Fatal(err)
	}
	<-fast // delivered on the other subscription while the slow handler is stuck
	if err := other.Stop(); err != nil {
		t.Fatal(err)
	}
	const extra = 5 // the slow queue holds event 2 and has QueueSize-1 free slots
	for range events.QueueSize - 1 + extra {
		if err := l.Publish(ctx, "osprey.x", nil); err != nil { // never blocks
			t.Fatal(err)
		}
	}
	if d := l.Dropped(); d != extra {
		t.Errorf("Dropped() = %d, want %d", d, extra)
	}
	close(block)
	if err := slow.Stop(); err != nil {
		t.Fatal(err)
	}
}
