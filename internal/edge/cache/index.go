package cache

import (
	"context"
	"log/slog"
	"time"

	"github.com/maypok86/otter/v2"
)

// index maps keys to entries for one tier.
type index = otter.Cache[string, *Entry]

// indexConfig is what differs between the two tiers' indexes.
type indexConfig struct {
	limit  int64
	weigh  func(e *Entry) uint32
	onDrop func(e *Entry) // called under otter's bucket lock for every value that leaves the index
	now    func() time.Time
	clock  otter.Clock // reads Unix time, as now does
	log    *slog.Logger
}

// newIndex builds an otter cache bounded by weight, expiring each entry at
// Stored+Keep, with a synchronous executor so that eviction happens inside
// the writing call.
func newIndex(cfg indexConfig) (*index, error) {
	return otter.New(&otter.Options[string, *Entry]{
		MaximumWeight: uint64(cfg.limit),
		Weigher:       func(_ string, e *Entry) uint32 { return cfg.weigh(e) },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(oe otter.Entry[string, *Entry]) time.Duration {
			// Relative to otter's clock reading for this write. Never 0 or
			// negative: an entry written past its Keep expires at once.
			return max(time.Duration(oe.Value.Meta.expires().UnixNano()-oe.SnapshotAtNano), time.Nanosecond)
		}),
		OnAtomicDeletion: func(ev otter.DeletionEvent[string, *Entry]) { cfg.onDrop(ev.Value) },
		Executor:         func(fn func()) { fn() },
		Clock:            cfg.clock,
		Logger:           otterLogger{cfg.log},
	})
}

// otterLogger sends otter's warnings to the cache's logger.
type otterLogger struct{ log *slog.Logger }

func (l otterLogger) Warn(ctx context.Context, msg string, err error) {
	l.log.WarnContext(ctx, "otter: "+msg, "err", err)
}

func (l otterLogger) Error(ctx context.Context, msg string, err error) {
	l.log.ErrorContext(ctx, "otter: "+msg, "err", err)
}

// funcClock is an otter.Clock reading a test clock. It never ticks, so otter
// runs no periodic clean-up: expiry is checked on reads and applied by the
// maintenance that writes trigger.
type funcClock struct{ now func() time.Time }

func (c funcClock) NowNano() int64                      { return c.now().UnixNano() }
func (c funcClock) Tick(time.Duration) <-chan time.Time { return nil }

// refreshIndex replaces the entry of key in idx with one whose Meta is
// update applied to a private copy of the current Meta. Key and Size cannot
// be changed. build builds the new entry from the current one; onSwap, if
// set, runs under the bucket lock once the swap is certain. It returns false
// if key is absent.
func refreshIndex(idx *index, key string, update func(*Meta), build func(cur *Entry, m Meta) *Entry, onSwap func(ne *Entry)) bool {
	// The update runs outside otter's locks, so the swap is a compare-and-set
	// that is retried if another write got in between.
	for range 8 {
		oe, ok := idx.GetEntryQuietly(key)
		if !ok {
			return false
		}
		cur := oe.Value
		ne := build(cur, applyUpdate(&cur.Meta, update))
		swapped := false
		idx.ComputeIfPresent(key, func(old *Entry) (*Entry, otter.ComputeOp) {
			if old != cur {
				return old, otter.CancelOp
			}
			swapped = true
			if onSwap != nil {
				onSwap(ne)
			}
			return ne, otter.WriteOp
		})
		if swapped {
			return true
		}
	}
	return false
}

// applyUpdate returns update applied to a copy of m that shares no map with
// m, and keeps no map that update may have brought in.
func applyUpdate(m *Meta, update func(*Meta)) Meta {
	c := m.clone()
	update(&c)
	c.Header = c.Header.Clone()
	c.Key, c.Size = m.Key, m.Size
	return c
}
