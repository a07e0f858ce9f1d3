package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestClusterReadiness: /readyz of a node whose NATS dies names events and
// the address and answers 200 again once NATS is back; a node started with
// wrong S3 credentials or an unreachable PostgreSQL exits non-zero with a
// message naming the dependency and its address.
func TestClusterReadiness(t *testing.T) {
	c := newCluster(t)
	b := c.node("b", "origin,api")
	readyz := func() (int, string) {
		code, body := get(t, b.httpBase+"/readyz")
		return code, string(body)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("/readyz with every dependency up: %d %s", code, body)
	}

	t.Run("NATS down and back", func(t *testing.T) {
		c.nats.Kill()
		killed := time.Now()
		var body string
		waitFor(t, 10*time.Second, "/readyz to fail", func() bool {
			var code int
			code, body = readyz()
			return code == 503
		})
		t.Logf("/readyz failed %v after NATS died: %q", time.Since(killed).Round(time.Millisecond), body)
		if !strings.Contains(body, "events") || !strings.Contains(body, c.nats.Addr()) {
			t.Errorf("/readyz body %q does not name events and %s", body, c.nats.Addr())
		}
		if strings.Contains(body, "catalog") || strings.Contains(body, "storage") {
			t.Errorf("/readyz blames a dependency that is up: %q", body)
		}
		if code, _ := get(t, b.httpBase+"/healthz"); code != 200 {
			t.Errorf("/healthz while NATS is down: %d", code)
		}
		c.nats.Start()
		back := time.Now()
		waitFor(t, 15*time.Second, "/readyz to recover", func() bool {
			code, _ := readyz()
			return code == 200
		})
		t.Logf("/readyz 200 again %v after NATS came back", time.Since(back).Round(time.Millisecond))
	})

	t.Run("wrong S3 credentials at start", func(t *testing.T) {
		out, took, err := runToExit(t, 60*time.Second, []string{"AWS_SECRET_ACCESS_KEY=not-the-secret"},
			append([]string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--rtmp", "", "--srt", "", "--log-format", "json"},
				c.nodeArgs("bad-s3", "origin,api")...)...)
		if err == nil {
			t.Fatalf("osprey serve started with a wrong S3 secret:\n%s", out)
		}
		u, _ := url.Parse(c.s3.Endpoint)
		if !strings.Contains(out, "storage") || !strings.Contains(out, u.Host) {
			t.Errorf("exit message does not name storage and %s:\n%s", u.Host, out)
		}
		if strings.Contains(out, "not-the-secret") || strings.Contains(out, c.s3.SecretKey) {
			t.Errorf("exit message shows a secret:\n%s", out)
		}
		t.Logf("exited in %v: %s", took.Round(time.Millisecond), lastLine(out))
	})

	t.Run("PostgreSQL unreachable at start", func(t *testing.T) {
		addr := freeAddr(t)
		args := append([]string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--rtmp", "", "--srt", "", "--log-format", "json"},
			c.nodeArgs("bad-pg", "origin,api")...)
		for i, a := range args {
			if a == "--catalog" {
				args[i+1] = "postgres://postgres@" + addr + "/osprey?sslmode=disable"
			}
		}
		out, took, err := runToExit(t, 60*time.Second, nil, args...)
		if err == nil {
			t.Fatalf("osprey serve started without PostgreSQL:\n%s", out)
		}
		if !strings.Contains(out, "catalog") || !strings.Contains(out, addr) {
			t.Errorf("exit message does not name catalog and %s:\n%s", addr, out)
		}
		t.Logf("exited in %v: %s", took.Round(time.Millisecond), lastLine(out))
	})
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
