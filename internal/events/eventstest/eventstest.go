// Package eventstest is a conformance suite every events.Bus backend runs.
package eventstest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
)

// Options declares what a backend does not do.
type Options struct {
	// NoPersistence skips the durable-resume case (events published while a
	// Durable subscription is stopped are delivered when it resubscribes).
	NoPersistence bool
}

// Timeout bounds every wait in the suite.
const Timeout = 10 * time.Second

// Run runs the suite. open returns two "nodes" on one fresh backend (they may
// be the same Bus); it is called once per case and must register its own
// cleanup. Every case uses its own subject prefix, so the cases can share a
// backend.
func Run(t *testing.T, opts Options, open func(t *testing.T) (a, b events.Bus)) {
	cases := []struct {
		name string
		fn   func(t *testing.T, a, b events.Bus, prefix string)
	}{
		{"FanOut", testFanOut},
		{"Wildcards", testWildcards},
		{"OrderPerSubject", testOrder},
		{"RetryAfterError", testRetry},
		{"Stop", testStop},
		{"Close", testClose},
		{"InvalidSubjects", testInvalid},
		{"IDAndTime", testIDAndTime},
		{"DurableResume", testDurable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "DurableResume" && opts.NoPersistence {
				t.Skip("backend declares NoPersistence")
			}
			a, b := open(t)
			c.fn(t, a, b, "osprey.t"+events.NewID()[:12])
		})
	}
}

// recorder is a Handler that records every delivery.
type recorder struct {
	mu   sync.Mutex
	got  []events.Event
	wake chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) handle(_ context.Context, e events.Event) error {
	r.mu.Lock()
	r.got = append(r.got, e)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.got...)
}

// wait waits until at least n deliveries were recorded and returns them.
func (r *recorder) wait(t *testing.T, n int) []events.Event {
	t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		if got := r.events(); len(got) >= n {
			return got
		}
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("got %d events within %v, want %d: %v", len(r.events()), Timeout, n, subjects(r.events()))
		}
	}
}

func subjects(es []events.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Subject + "=" + string(e.Data)
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func subscribe(t *testing.T, b events.Bus, pattern string, opts events.SubscribeOptions, h events.Handler) events.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctxT(t), pattern, opts, h)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", pattern, err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func publish(t *testing.T, b events.Bus, subject, data string) {
	t.Helper()
	if err := b.Publish(ctxT(t), subject, []byte(data)); err != nil {
		t.Fatalf("Publish(%q): %v", subject, err)
	}
}

func testFanOut(t *testing.T, a, b events.Bus, p string) {
	ra, rb, ra2 := newRecorder(), newRecorder(), newRecorder()
	subscribe(t, a, p+".x", events.SubscribeOptions{}, ra.handle)
	subscribe(t, b, p+".x", events.SubscribeOptions{}, rb.handle)
	subscribe(t, a, p+".x", events.SubscribeOptions{Durable: "fan" + p[len(p)-6:]}, ra2.handle)
	publish(t, a, p+".x", "hello")
	for name, r := range map[string]*recorder{"a": ra, "b": rb, "a durable": ra2} {
		got := r.wait(t, 1)
		if got[0].Subject != p+".x" || string(got[0].Data) != "hello" {
			t.Errorf("%s got %s, want %s.x=hello", name, subjects(got), p)
		}
	}
}

func testWildcards(t *testing.T, a, b events.Bus, p string) {
	star, rest := newRecorder(), newRecorder()
	subscribe(t, b, p+".*.k", events.SubscribeOptions{}, star.handle)
	subscribe(t, b, p+".>", events.SubscribeOptions{}, rest.handle)
	for _, s := range []string{p + ".one.k", p + ".one.k.deep", p + ".one.other", p + "x.one.k", "osprey.other.k", p + ".two.k"} {
		publish(t, a, s, "")
	}
	// The last subject matches both; once it arrives, everything published
	// earlier was either delivered or filtered out.
	check := func(name string, r *recorder, want []string) {
		got := r.wait(t, len(want))
		if fmt.Sprint(subjects(got)) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", name, subjects(got), want)
		}
	}
	check("*", star, []string{p + ".one.k=", p + ".two.k="})
	check(">", rest, []string{p + ".one.k=", p + ".one.k.deep=", p + ".one.other=", p + ".two.k="})
}

func testOrder(t *testing.T, a, b events.Bus, p string) {
	const n = 200
	r := newRecorder()
	subscribe(t, b, p+".>", events.SubscribeOptions{}, r.handle)
	for i := range n {
		publish(t, a, p+".seq", strconv.Itoa(i))
	}
	got := r.wait(t, n)
	for i, e := range got {
		if string(e.Data) != strconv.Itoa(i) {
			t.Fatalf("event %d has data %q, want %d (order broken)", i, e.Data, i)
		}
	}
}

func testRetry(t *testing.T, a, b events.Bus, p string) {
	var mu sync.Mutex
	attempts := map[string]int{}
	r := newRecorder()
	h := func(ctx context.Context, e events.Event) error {
		mu.Lock()
		attempts[e.ID]++
		n := attempts[e.ID]
		mu.Unlock()
		if string(e.Data) == "flaky" {
			switch n {
			case 1:
				return errors.New("first failure")
			case 2:
				panic("second failure")
			}
		}
		return r.handle(ctx, e)
	}
	subscribe(t, b, p+".x", events.SubscribeOptions{}, h)
	publish(t, a, p+".x", "flaky")
	publish(t, a, p+".x", "after")
	got := r.wait(t, 2)
	if string(got[0].Data) != "flaky" || string(got[1].Data) != "after" {
		t.Fatalf("got %v, want flaky then after", subjects(got))
	}
	mu.Lock()
	defer mu.Unlock()
	if n := attempts[got[0].ID]; n != 3 {
		t.Errorf("flaky event seen %d times, want 3", n)
	}
	if n := attempts[got[1].ID]; n != 1 {
		t.Errorf("later event seen %d times, want 1", n)
	}
}

func testStop(t *testing.T, a, b events.Bus, p string) {
	stopped, other := newRecorder(), newRecorder()
	s := subscribe(t, b, p+".x", events.SubscribeOptions{}, stopped.handle)
	subscribe(t, b, p+".x", events.SubscribeOptions{}, other.handle)
	publish(t, a, p+".x", "1")
	stopped.wait(t, 1)
	other.wait(t, 1)
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	publish(t, a, p+".x", "2")
	other.wait(t, 2) // the event was delivered where a subscription remains
	if got := stopped.events(); len(got) != 1 {
		t.Errorf("stopped subscription got %v after Stop", subjects(got))
	}
}

func testClose(t *testing.T, a, b events.Bus, p string) {
	started, release := make(chan struct{}), make(chan struct{})
	var finished sync.WaitGroup
	finished.Add(1)
	returned := false
	h := func(ctx context.Context, e events.Event) error {
		defer finished.Done()
		close(started)
		select {
		case <-ctx.Done(): // Close cancels running handlers
		case <-release:
		}
		returned = true
		return ctx.Err()
	}
	subscribe(t, b, p+".x", events.SubscribeOptions{}, h)
	publish(t, a, p+".x", "1")
	select {
	case <-started:
	case <-time.After(Timeout):
		t.Fatal("handler not called")
	}
	timer := time.AfterFunc(Timeout, func() { close(release) }) // so a broken Close cannot hang
	defer timer.Stop()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !returned { // written before Done by the handler; Close must have waited
		t.Error("Close returned before the running handler")
	}
	for _, bus := range []events.Bus{a, b} {
		if err := bus.Close(); err != nil {
			t.Errorf("Close again: %v", err)
		}
	}
	if err := b.Publish(ctxT(t), p+".x", nil); err == nil {
		t.Error("Publish after Close succeeded")
	}
	if _, err := b.Subscribe(ctxT(t), p+".x", events.SubscribeOptions{}, h); err == nil {
		t.Error("Subscribe after Close succeeded")
	}
	finished.Wait()
}

func testInvalid(t *testing.T, a, b events.Bus, p string) {
	for _, s := range []string{"", "osprey", "osprey.", "osprey..x", p + ".*", p + ".>", "other.x", p + ".a b", p + ".x."} {
		if err := a.Publish(ctxT(t), s, nil); err == nil {
			t.Errorf("Publish(%q) succeeded, want error", s)
		}
	}
	nop := func(context.Context, events.Event) error { return nil }
	for _, s := range []string{"", ">", "osprey..x", p + ".>.x", p + ".a*", "other.>", p + ".x."} {
		if sub, err := b.Subscribe(ctxT(t), s, events.SubscribeOptions{}, nop); err == nil {
			_ = sub.Stop()
			t.Errorf("Subscribe(%q) succeeded, want error", s)
		}
	}
}

func testIDAndTime(t *testing.T, a, b events.Bus, p string) {
	const n = 20
	r := newRecorder()
	subscribe(t, b, p+".x", events.SubscribeOptions{}, r.handle)
	before := time.Now()
	for range n {
		publish(t, a, p+".x", "same")
	}
	after := time.Now()
	seen := map[string]bool{}
	for _, e := range r.wait(t, n) {
		if e.ID == "" || seen[e.ID] {
			t.Errorf("ID %q empty or repeated", e.ID)
		}
		seen[e.ID] = true
		if e.Time.Before(before) || e.Time.After(after) {
			t.Errorf("Time %v outside the Publish calls [%v, %v]", e.Time, before, after)
		}
	}
}

func testDurable(t *testing.T, a, b events.Bus, p string) {
	name := "durable-" + p[len(p)-8:]
	r1 := newRecorder()
	s := subscribe(t, b, p+".>", events.SubscribeOptions{Durable: name}, r1.handle)
	publish(t, a, p+".x", "1")
	r1.wait(t, 1)
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	publish(t, a, p+".x", "2")
	publish(t, a, p+".y", "3")
	r2 := newRecorder()
	subscribe(t, b, p+".>", events.SubscribeOptions{Durable: name}, r2.handle)
	// At-least-once: an event in flight when Stop ran may come again; a
	// handler dedups by ID, and so does this check.
	want := []string{p + ".x=2", p + ".y=3"}
	deadline := time.Now().Add(Timeout)
	for {
		got := subjects(dedup(r2.wait(t, 1)))
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if len(got) >= len(want) || time.Now().After(deadline) {
			t.Fatalf("after resubscribe got %v (deduplicated by ID), want %v", got, want)
		}
		select {
		case <-r2.wake:
		case <-time.After(time.Until(deadline)):
		}
	}
}

// dedup keeps the first delivery of each event ID.
func dedup(es []events.Event) []events.Event {
	seen := map[string]bool{}
	var out []events.Event
	for _, e := range es {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}
