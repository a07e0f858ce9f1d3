package ingesttest

import (
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// WaitGoroutines fails t unless the number of goroutines drops back to at
// most before within timeout. Goroutines of libraries that stop
// asynchronously get that long to exit; anything still running is a leak.
func WaitGoroutines(t testing.TB, before int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			var sb strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&sb, 1)
			t.Fatalf("%d goroutines still running, %d before:\n%s", n, before, sb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
