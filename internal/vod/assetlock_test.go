package vod

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/lease"
)

// waiting returns how many goroutines hold or wait for asset id's lock,
// and the number of entries.
func (l *assetLocks) waiting(id string) (refs, entries int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[id]; e != nil {
		refs = e.refs
	}
	return refs, len(l.entries)
}

// waitFor polls cond (real state, not time) until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAssetLocks: different assets do not wait for each other, one asset's
// callers take turns, and an entry goes away with its last holder.
func TestAssetLocks(t *testing.T) {
	var l assetLocks
	unlockA := l.lockLocal("a")
	unlockB := l.lockLocal("b") // would deadlock if "b" waited for "a"
	if refs, n := l.waiting("a"); refs != 1 || n != 2 {
		t.Fatalf("a: %d refs, %d entries; want 1, 2", refs, n)
	}

	second := make(chan func())
	go func() { second <- l.lockLocal("a") }()
	waitFor(t, "the second caller of a to wait", func() bool { r, _ := l.waiting("a"); return r == 2 })
	select {
	case <-second:
		t.Fatal("two callers hold a's lock at once")
	default:
	}
	unlockA()
	unlockA() // a second call changes nothing
	unlockA2 := <-second
	if refs, _ := l.waiting("a"); refs != 1 {
		t.Fatalf("a: %d refs after the hand-over, want 1", refs)
	}

	unlockA2()
	unlockB()
	if refs, n := l.waiting("a"); refs != 0 || n != 0 {
		t.Fatalf("after every unlock: %d refs of a, %d entries; want none", refs, n)
	}
}

// TestAssetLocksAcrossNodes: with leases, an asset locked on one node
// waits on another until released there; a caller whose context ends
// first gets an error saying so; other assets do not wait.
func TestAssetLocksAcrossNodes(t *testing.T) {
	table := lease.NewLocal()
	a, b := assetLocks{leases: table}, assetLocks{leases: table.Peer()}
	ctx := context.Background()
	unlockA, err := a.lock(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if unlockY, err := b.lock(ctx, "y"); err != nil {
		t.Fatalf("another asset on node b: %v", err)
	} else {
		unlockY()
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := b.lock(short, "x"); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, lease.ErrHeld) {
		t.Fatalf("node b locking x held by node a: %v, want the deadline and ErrHeld", err)
	}
	if refs, n := b.waiting("x"); refs != 0 || n != 0 {
		t.Fatalf("node b after giving up: %d refs, %d entries; want none", refs, n)
	}
	got := make(chan func(), 1)
	go func() {
		unlock, err := b.lock(ctx, "x")
		if err != nil {
			t.Error(err)
			unlock = func() {}
		}
		got <- unlock
	}()
	waitFor(t, "node b to wait for x", func() bool { r, _ := b.waiting("x"); return r == 1 })
	select {
	case <-got:
		t.Fatal("both nodes hold x")
	default:
	}
	unlockA()
	select {
	case unlock := <-got:
		unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("node b did not get x after node a released it")
	}
}

// TestAddSubtitleLocksOneAsset: a subtitle change held up on one asset
// (here inside its catalog update) does not hold up another asset's, while
// a second change of the same asset waits for the first.
func TestAddSubtitleLocksOneAsset(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, id := range []string{"as_a", "as_b"} {
		if err := e.cat.CreateAsset(e.ctx, catalog.Asset{ID: id, Title: id, Status: catalog.AssetProcessing}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var (
		held    = make(chan struct{})
		release = make(chan struct{})
		fired   atomic.Bool
		mu      sync.Mutex
		updates []string // "asset:languages" in the order the updates committed
	)
	e.cat.afterUpdate = func(a catalog.Asset) {
		var langs []string
		for _, s := range a.Output.Subtitles {
			langs = append(langs, s.Language)
		}
		mu.Lock()
		updates = append(updates, a.ID+":"+strings.Join(langs, ","))
		mu.Unlock()
		if a.ID == "as_a" && fired.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
	}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	add := func(id, lang string) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := e.svc.AddSubtitle(context.WithoutCancel(e.ctx), id, catalog.AssetSubtitle{Language: lang}, []byte(testVTT))
			done <- err
		}()
		return done
	}

	firstA := add("as_a", "en")
	<-held // as_a's lock is held, its update hanging
	select {
	case err := <-add("as_b", "en"):
		if err != nil {
			t.Fatalf("AddSubtitle as_b: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AddSubtitle of as_b waited for as_a's")
	}
	secondA := add("as_a", "fr")
	waitFor(t, "the second change of as_a to wait", func() bool { r, _ := e.svc.subMu.waiting("as_a"); return r == 2 })
	mu.Lock()
	early := slices.Contains(updates, "as_a:en,fr")
	mu.Unlock()
	if early {
		t.Fatal("the second change of as_a ran while the first held the lock")
	}
	close(release)
	for _, done := range []chan error{firstA, secondA} {
		if err := <-done; err != nil {
			t.Fatalf("AddSubtitle as_a: %v", err)
		}
	}
	mu.Lock()
	got := slices.Clone(updates)
	mu.Unlock()
	if want := []string{"as_a:en", "as_b:en", "as_a:en,fr"}; !slices.Equal(got, want) {
		t.Errorf("updates %v, want %v", got, want)
	}
	if refs, n := e.svc.subMu.waiting("as_a"); refs != 0 || n != 0 {
		t.Errorf("locks left: %d refs of as_a, %d entries", refs, n)
	}
}
