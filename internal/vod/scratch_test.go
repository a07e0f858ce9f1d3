package vod

import (
	"errors"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/probe"
)

// TestScratchReserve: what fits in the scratch space and what does not,
// and which refusals are final (the asset fails) or retried.
func TestScratchReserve(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name      string
		limit     int64
		held      int64 // by other attempts
		free      int64 // on the disk; -1 unknown
		size      int64
		permanent bool
		want      string // "" = fits
	}{
		{"fits", 100 * mib, 0, 10_000 * mib, 50 * mib, false, ""},
		{"no limit, disk decides", 0, 0, 1000 * mib, 500 * mib, false, ""},
		{"free space unknown", 100 * mib, 0, -1, 100 * mib, false, ""},
		{"larger than the limit", 100 * mib, 0, 10_000 * mib, 101 * mib, true, "larger than the scratch space"},
		{"others hold the space", 100 * mib, 60 * mib, 10_000 * mib, 50 * mib, false, "held by other jobs"},
		{"disk nearly full", 0, 0, 300 * mib, 100 * mib, false, "must stay free"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &scratch{dir: t.TempDir(), limit: tt.limit, used: tt.held,
				free: func(string) (int64, error) { return tt.free, nil }}
			err := sc.reserve(tt.size)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("reserve(%d) = %v, want it to fit", tt.size, err)
				}
				if sc.used != tt.held+tt.size {
					t.Errorf("used %d after reserving, want %d", sc.used, tt.held+tt.size)
				}
				sc.unreserve(tt.size)
				if sc.used != tt.held {
					t.Errorf("used %d after unreserving, want %d", sc.used, tt.held)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("reserve(%d) = %v, want an error containing %q", tt.size, err, tt.want)
			}
			if got := probe.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			if !errors.Is(err, errScratchFull) {
				t.Errorf("%v does not wrap errScratchFull", err)
			}
			if sc.used != tt.held {
				t.Errorf("a refusal changed the space held: %d, want %d", sc.used, tt.held)
			}
		})
	}
}
