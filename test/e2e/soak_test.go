package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/bench/soak/soaklib"
)

// TestSoak is the 2-minute version of `go run ./bench/soak`: the real
// binary with the edge in front, one live channel watched by four HLS
// viewers through the edge, an upload every minute; it fails on any stall
// or error, or on RSS, goroutine or open-file growth beyond
// soaklib.ShortThresholds over the second minute.
func TestSoak(t *testing.T) {
	var progress strings.Builder
	cfg := soaklib.Config{
		Bin:         ospreyBin,
		Dir:         t.TempDir(),
		Duration:    2 * time.Minute,
		Viewers:     4,
		UploadEvery: time.Minute,
		AdminToken:  adminToken,
		Thresholds:  soaklib.ShortThresholds,
		Progress:    &progress,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	res, err := soaklib.Run(ctx, cfg)
	var report strings.Builder
	res.Report(&report)
	t.Logf("soak report:\n%s", report.String())
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, progress.String())
	}
	if f := res.Failures(cfg.Thresholds); len(f) > 0 {
		t.Fatalf("soak failed: %s\nprogress:\n%s", strings.Join(f, "; "), progress.String())
	}
	if res.Uploads < 1 {
		t.Fatalf("no upload went through in 2 minutes\nprogress:\n%s", progress.String())
	}
}
