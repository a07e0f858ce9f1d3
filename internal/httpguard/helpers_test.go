package httpguard

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
)

// newGuard returns a guard over the default security settings changed by
// modify, closed at the end of the test.
func newGuard(t *testing.T, modify func(*config.Security)) *Guard {
	t.Helper()
	sec := config.Default().Security
	sec.UnlimitedClients = nil // tests come from loopback
	if modify != nil {
		modify(&sec)
	}
	g, err := New(sec, nil)
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

type securityAlias = config.Security

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithCancel(t.Context())
}
