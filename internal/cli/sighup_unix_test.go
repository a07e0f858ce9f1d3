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

// SIGHUP does not stop serve or edge: it arrives as a value on the reload
// channel they are given, which the TLS certificate watches.
func TestSIGHUPRequestsReload(t *testing.T) {
	// Not parallel: the signal goes to the whole process.
	clearEnv(t)
	awaitReload := func(ctx context.Context, reload <-chan struct{}) error {
		if reload == nil {
			return errors.New("no reload channel")
		}
		select {
		case <-reload:
			return errors.New("a reload request before any SIGHUP")
		default:
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
			return errors.New("SIGHUP cancelled the command")
		}
		return nil
	}
	for _, tt := range []struct {
		name string
		args []string
		opts Options
	}{
		{"serve", []string{"serve"}, Options{Serve: func(ctx context.Context, _ config.Config, _ *slog.Logger, reload <-chan struct{}) error {
			return awaitReload(ctx, reload)
		}}},
		{"edge", []string{"edge", "--origin", "http://origin.example"}, Options{Edge: func(ctx context.Context, _ config.Edge, _ string, _ *slog.Logger, reload <-chan struct{}) error {
			return awaitReload(ctx, reload)
		}}},
	} {
		var stderr bytes.Buffer
		tt.opts.Stdout, tt.opts.Stderr = &bytes.Buffer{}, &stderr
		if code := Main(tt.args, tt.opts); code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.name, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "SIGHUP received") {
			t.Errorf("%s: no log of the SIGHUP: %q", tt.name, stderr.String())
		}
	}
}
