package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/clip"
)

// fakeRecorder records its calls.
type fakeRecorder struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeRecorder) Record(_ context.Context, ch catalog.Channel, dir string) (clip.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, ch.ID+"/"+dir)
	return clip.Result{Asset: catalog.Asset{ID: "as_rec"}}, f.err
}

func TestRecordSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		record bool
		nilRec bool
		err    error
		want   int
	}{
		{"record on", true, false, nil, 1},
		{"record on, the recording fails", true, false, errors.New("no index"), 1},
		{"record off", false, false, nil, 0},
		{"no recorder", true, true, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewManager(Config{}, nil, nil, slog.New(slog.DiscardHandler))
			f := &fakeRecorder{err: tt.err}
			var rec Recorder = f
			if tt.nilRec {
				rec = nil
			}
			m.recordSession(rec, catalog.Channel{ID: "ch_x", Record: tt.record}, "s4", m.log)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// Wait waits for the recording.
			if err := m.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.calls) != tt.want || (tt.want == 1 && f.calls[0] != "ch_x/s4") {
				t.Fatalf("calls %v, want %d for ch_x/s4", f.calls, tt.want)
			}
		})
	}
}
