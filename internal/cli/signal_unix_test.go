//go:build unix

package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
)

// SIGTERM cancels Serve's context, and Serve's return ends Main.
func TestServeStopsOnSignal(t *testing.T) {
	clearEnv(t)
	var stderr bytes.Buffer
	opts := Options{Stdout: &bytes.Buffer{}, Stderr: &stderr, Serve: func(ctx context.Context, cfg config.Config, log *slog.Logger, _ <-chan struct{}) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("context not canceled by SIGTERM")
		}
	}}
	if code := Main([]string{"serve"}, opts); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down gracefully") {
		t.Errorf("no shutdown log: %q", stderr.String())
	}
}
