package vod

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPriorityStoredInRiver checks the priority River stores for an
// asset's job: 1 runs before the default, which is 2 (River's own default
// is 1, under which ?priority=1 would never jump the queue).
func TestPriorityStoredInRiver(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	for _, tt := range []struct{ asked, want int }{{0, 2}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {9, 2}} {
		path := filepath.Join(t.TempDir(), "src.bin")
		if err := os.WriteFile(path, []byte("not media"), 0o644); err != nil {
			t.Fatal(err)
		}
		f := uploadOf(t, path)
		f.Priority = tt.asked
		a, err := e.svc.CreateAsset(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := e.cat.DB().QueryRowContext(e.ctx, "SELECT priority FROM river_job WHERE id = ?", a.JobID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("priority %d: River stores %d, want %d", tt.asked, got, tt.want)
		}
	}
}
