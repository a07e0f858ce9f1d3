package httpguard

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// testOptions are the configuration's default security settings (as
// internal/app converts them), but with no unlimited clients: tests come
// from loopback.
func testOptions() Options {
	return Options{
		RateLimits: map[Class]RateLimit{
			ClassAPI:    {Rate: 20, Burst: 40},
			ClassUpload: {Rate: 20, Burst: 100},
			ClassMedia:  {Rate: 200, Burst: 400},
		},
		RateLimitClients:    100_000,
		MaxConnections:      10000,
		MaxConnectionsPerIP: 256,
		ReadHeaderTimeout:   10 * time.Second,
		IdleTimeout:         2 * time.Minute,
		ProgressTimeout:     time.Minute,
		HSTSMaxAge:          365 * 24 * time.Hour,
		MaxHeaderBytes:      64 << 10,
		MaxJSONBody:         1 << 20,
	}
}

// newGuard returns a guard over testOptions changed by modify, closed at
// the end of the test.
func newGuard(t *testing.T, modify func(*Options)) *Guard {
	t.Helper()
	o := testOptions()
	if modify != nil {
		modify(&o)
	}
	g, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// logBuffer is a goroutine-safe log destination.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithCancel(t.Context())
}

// mustPrefix parses a CIDR, or an address standing for itself alone.
func mustPrefix(s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		a := netip.MustParseAddr(s)
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.MustParsePrefix(s).Masked()
}

// prefixes is mustPrefix of each of ss.
func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		ps = append(ps, mustPrefix(s))
	}
	return ps
}
