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
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// SIGHUP does not stop serve: it arrives as a reload request on the
// context (httpguard.ReloadRequests), which the TLS certificate watches.
func TestSIGHUPRequestsReload(t *testing.T) {
	clearEnv(t)
	var stderr bytes.Buffer
	opts := Options{Stdout: &bytes.Buffer{}, Stderr: &stderr, Serve: func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
		reload := httpguard.ReloadRequests(ctx)
		if reload == nil {
			return errors.New("no reload channel in the context")
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			return err
		}
		select {
		case <-reload:
		case <-time.After(10 * time.Second):
			return errors.New("SIGHUP did not arrive as a reload request")
		}
		if ctx.Err() != nil {
			return errors.New("SIGHUP cancelled serve")
		}
		return nil
	}}
	if code := Main([]string{"serve"}, opts); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "SIGHUP received") {
		t.Errorf("no log of the SIGHUP: %q", stderr.String())
	}
}
