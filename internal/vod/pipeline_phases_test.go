package vod

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// TestReadyLogSplitsPhases checks that the "asset ready" line says where
// the attempt's time went: queued, probe, transcode and finish, each a
// duration, together no more than the time from creating the asset to
// the line, and no less than the attempt's own "took".
func TestReadyLogSplitsPhases(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, envOptions{log: slog.New(slog.NewJSONHandler(logs, nil))})
	e.start()
	clip := makeClip(t, t.TempDir(), "clip.mp4", 2)
	start := time.Now()
	created := e.create(clip)
	a := e.waitDone(created.ID)
	if a.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", a.Status, a.Error)
	}
	// The line is written after the ready state is committed.
	var rec map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for rec == nil && time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var r map[string]any
			if json.Unmarshal(sc.Bytes(), &r) == nil && r["msg"] == "asset ready" && r["asset"] == created.ID {
				rec = r
			}
		}
		if rec == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if rec == nil {
		t.Fatalf("no \"asset ready\" line in:\n%s", logs.String())
	}
	var sum time.Duration
	for _, name := range []string{"queued", "probe", "transcode", "finish"} {
		v, ok := rec[name].(float64) // slog's JSON writes a duration in nanoseconds
		if !ok || v < 0 || (name != "queued" && v == 0) {
			t.Errorf("%s = %v in %v", name, rec[name], rec)
		}
		sum += time.Duration(v)
	}
	// Each of the four phases is rounded to the millisecond, so their sum
	// may exceed the true total by up to 4 × 0.5 ms.
	if elapsed := time.Since(start); sum > elapsed+2*time.Millisecond {
		t.Errorf("phases add up to %v, more than the %v since the asset was created (plus rounding)", sum, elapsed)
	}
	// Each phase is rounded to the millisecond.
	if took := time.Duration(rec["took"].(float64)); took > sum+5*time.Millisecond {
		t.Errorf("took %v, more than the phases' %v", took, sum)
	}
}
