package httpguard

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiterBurstThenRate(t *testing.T) {
	t.Parallel()
	l := NewLimiter(10, 5, 1000) // 10/s, bursts of 5
	a := netip.MustParseAddr("192.0.2.1")
	t0 := time.Now()
	for i := range 5 {
		if ok, _ := l.Allow(a, t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow(a, t0)
	if ok {
		t.Fatal("request past the burst allowed")
	}
	if wait <= 0 || wait > 100*time.Millisecond {
		t.Errorf("wait %s, want (0, 100ms]", wait)
	}
	if got := retryAfterSeconds(wait); got != 1 {
		t.Errorf("Retry-After %d, want 1", got)
	}
	// Another client has its own bucket.
	if ok, _ := l.Allow(netip.MustParseAddr("192.0.2.2"), t0); !ok {
		t.Error("another client refused")
	}
	// One token comes back after 100ms, not before.
	if ok, _ := l.Allow(a, t0.Add(90*time.Millisecond)); ok {
		t.Error("allowed before the refill")
	}
	if ok, _ := l.Allow(a, t0.Add(101*time.Millisecond)); !ok {
		t.Error("refused after the refill")
	}
	// A long pause refills up to the burst, no more.
	later := t0.Add(time.Hour)
	n := 0
	for {
		if ok, _ := l.Allow(a, later); !ok {
			break
		}
		n++
	}
	if n != 5 {
		t.Errorf("%d requests after a pause, want the burst of 5", n)
	}
}

func TestLimiterIPv6SharesSlash64(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1, 2, 1000)
	t0 := time.Now()
	l.Allow(netip.MustParseAddr("2001:db8:0:1::1"), t0)
	l.Allow(netip.MustParseAddr("2001:db8:0:1::2"), t0)
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:0:1:ffff::3"), t0); ok {
		t.Error("a third address of the same /64 got past the burst")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:0:2::1"), t0); !ok {
		t.Error("another /64 refused")
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	for wait, want := range map[time.Duration]int64{
		time.Nanosecond: 1, 999 * time.Millisecond: 1, time.Second: 1,
		1001 * time.Millisecond: 2, 10 * time.Second: 10,
	} {
		if got := retryAfterSeconds(wait); got != want {
			t.Errorf("retryAfterSeconds(%s) = %d, want %d", wait, got, want)
		}
	}
	// A slow rate says how long: 0.1/s with its token spent is 10s.
	l := NewLimiter(0.1, 1, 10)
	a := netip.MustParseAddr("192.0.2.1")
	t0 := time.Now()
	l.Allow(a, t0)
	if _, wait := l.Allow(a, t0); retryAfterSeconds(wait) != 10 {
		t.Errorf("Retry-After %d, want 10", retryAfterSeconds(wait))
	}
}

// The table never holds more than about maxClients, however many
// addresses come, and Sweep forgets those whose bucket refilled.
func TestLimiterBoundedMemory(t *testing.T) {
	t.Parallel()
	const maxClients = 640 // 10 per shard
	l := NewLimiter(100, 10, maxClients)
	t0 := time.Now()
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(a, t0)
	}
	if n := l.clients(); n > maxClients {
		t.Errorf("%d clients tracked, cap %d", n, maxClients)
	}
	if n := l.Sweep(t0.Add(50 * time.Millisecond)); n == 0 {
		t.Error("Sweep forgot clients whose bucket has not refilled yet")
	}
	if n := l.Sweep(t0.Add(100 * time.Millisecond)); n != 0 {
		t.Errorf("%d clients left after their buckets refilled", n)
	}
}

// Allow on a known client allocates nothing.
func TestLimiterAllowAllocs(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	l := NewLimiter(1e6, 1e6, 1000)
	now := time.Now()
	l.Allow(a, now)
	if n := testing.AllocsPerRun(1000, func() { l.Allow(a, now) }); n != 0 {
		t.Errorf("%v allocations per Allow", n)
	}
}

// BenchmarkLimiterAllow is the hot path of a rate-limited request: many
// clients, in parallel.
func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(1e9, 1e9, 100_000)
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		now := time.Now()
		for pb.Next() {
			l.Allow(addrs[i%len(addrs)], now)
			i++
		}
	})
}
