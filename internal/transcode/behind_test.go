package transcode

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBehindRealTimeIsDetectedAndCleared(t *testing.T) {
	var logs bytes.Buffer
	s := &Supervisor{cfg: Config{BehindAfter: 3 * time.Second}, q: newUnitQueue(1, 1, nil), log: slog.New(slog.NewTextHandler(&logs, nil))}
	step := func(in, out time.Duration, speed float64) Status {
		s.lastIn.Store(int64(in))
		s.lastOut.Store(int64(out))
		s.onProgress(progress{Speed: speed})
		return s.Status()
	}
	if st := step(10*time.Second, 9*time.Second, 1.0); st.Behind || st.Lag != time.Second || st.Speed != 1.0 {
		t.Fatalf("1 s behind: %+v", st)
	}
	if st := step(20*time.Second, 16*time.Second, 0.7); !st.Behind || st.Lag != 4*time.Second || st.Speed != 0.7 {
		t.Fatalf("4 s behind: %+v", st)
	}
	if !strings.Contains(logs.String(), "falling behind real time") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	// Still behind until the lag is under half the threshold.
	if st := step(30*time.Second, 28*time.Second, 1.2); !st.Behind {
		t.Fatalf("2 s behind after being 4 s behind: %+v", st)
	}
	if st := step(40*time.Second, 39*time.Second, 1.1); st.Behind {
		t.Fatalf("1 s behind: still marked behind: %+v", st)
	}
	if !strings.Contains(logs.String(), "caught up") {
		t.Errorf("no recovery logged: %s", logs.String())
	}
}
