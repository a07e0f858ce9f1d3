package wrk

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	const ok = "Running 10s test @ http://127.0.0.1:1\n  Latency Distribution\n     99%   5.00ms\n" +
		"WRKSUMMARY requests=20000 duration_us=10000000 bytes=123 p50_us=1500 p90_us=3000 p99_us=5000 max_us=9000 connect=1 read=2 write=0 status=3 timeout=4\n"
	tests := []struct {
		name    string
		out     string
		wantErr error // nil: any error when fail is set
		fail    bool
		rps     float64
		p99     time.Duration
		errors  int64
	}{
		{name: "summary", out: ok, rps: 2000, p99: 5 * time.Millisecond, errors: 10},
		{name: "no summary line", out: "Running 10s test\n", fail: true},
		{name: "no requests", out: "WRKSUMMARY requests=0 duration_us=10000000\n", fail: true, wantErr: ErrNoRequests},
		{name: "bad number", out: "WRKSUMMARY requests=x\n", fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Parse(tt.out)
			if (err != nil) != tt.fail || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err = %v, want error %v (%v)", err, tt.fail, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.RPS() != tt.rps || r.P99 != tt.p99 || r.Errors != tt.errors || r.P50 != 1500*time.Microsecond ||
				r.P90 != 3*time.Millisecond || r.Max != 9*time.Millisecond || r.Bytes != 123 || r.Output != tt.out {
				t.Errorf("got %+v; want %.0f req/s, p50 1.5ms, p90 3ms, p99 %s, max 9ms, 123 bytes, %d errors and the output",
					r, tt.rps, tt.p99, tt.errors)
			}
		})
	}
}

// TestRunWalksThePaths runs the real wrk for a second with a generated
// script against a local server: every path is requested, and the
// summary counts what the server answered.
func TestRunWalksThePaths(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("this test needs wrk: `sudo apt-get install -y wrk`")
	}
	paths := []string{"/a", "/b/c", "/missing"}
	var mu sync.Mutex
	seen := map[string]int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("hello"))
	}))
	defer srv.Close()
	script, err := WriteScript(t.TempDir(), "paths", paths)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(Args(1, 2, time.Second, script, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // no request arrives after this
	mu.Lock()
	defer mu.Unlock()
	var total int64
	for _, p := range paths {
		if seen[p] == 0 {
			t.Errorf("%s was never requested (seen %v)", p, seen)
		}
		total += seen[p]
	}
	if res.Requests == 0 || res.Requests > total {
		t.Errorf("wrk counted %d requests, the server answered %d", res.Requests, total)
	}
	// A third of the requests are 404s, which wrk counts as status errors.
	if res.Errors < res.Requests/4 || res.Errors > res.Requests/2 {
		t.Errorf("%d errors of %d requests, want about a third (the 404s)", res.Errors, res.Requests)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 || res.CPU <= 0 || !strings.Contains(res.Output, "Latency Distribution") {
		t.Errorf("result %+v: want 0 < p50 <= p99 <= max, wrk's CPU time and its --latency table", res)
	}
}
