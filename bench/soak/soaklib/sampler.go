package soaklib

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// rssBytes reads a process's resident set size (proc(5) stat field 24,
// in pages).
func rssBytes(pid int) (int64, error) {
	f := benchkit.ProcStat(pid)
	if len(f) < 22 {
		return 0, fmt.Errorf("process %d is gone", pid)
	}
	pages, err := strconv.ParseInt(f[24-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading the RSS of %d: %w", pid, err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// openFiles counts a process's file descriptors.
func openFiles(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

// goroutines reads go_goroutines from /metrics (with the admin token, as
// /metrics is behind it); -1 when the endpoint does not expose it.
func (s *server) goroutines(ctx context.Context, c *http.Client) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1, nil
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("go_goroutines %q: %w", v, err)
			}
			return int(n), nil
		}
	}
	return -1, sc.Err()
}

// sample reads the process once; exposed says whether to ask /metrics.
func (s *server) sample(ctx context.Context, c *http.Client, at time.Duration, exposed bool) (Sample, error) {
	pid := s.pid()
	rss, err := rssBytes(pid)
	if err != nil {
		return Sample{}, err
	}
	fds, err := openFiles(pid)
	if err != nil {
		return Sample{}, err
	}
	g := -1
	if exposed {
		if g, err = s.goroutines(ctx, c); err != nil {
			return Sample{}, fmt.Errorf("reading /metrics: %w", err)
		}
	}
	return Sample{At: at, RSS: rss, Goroutines: g, FDs: fds}, nil
}
