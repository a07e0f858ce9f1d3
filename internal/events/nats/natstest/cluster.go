package natstest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is n nats-servers with JetStream on loopback, routed to each
// other as one JetStream cluster, each with a store folder of its own.
type Cluster struct {
	Name    string
	Servers []*Server
}

// StartCluster starts an n-server JetStream cluster (servers named
// "<cluster>-0" …) and waits until its JetStream meta group has a leader
// and every server is a current member. The servers are killed when the
// test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{Name: "osprey-test-" + strconv.Itoa(freePort(t, "127.0.0.1"))}
	routePorts := make([]int, n)
	for i := range routePorts {
		routePorts[i] = freePort(t, "127.0.0.1")
	}
	for i := range n {
		s := &Server{t: t, host: "127.0.0.1", port: freePort(t, "127.0.0.1"), dir: t.TempDir(),
			name: fmt.Sprintf("%s-%d", c.Name, i), monitor: freePort(t, "127.0.0.1")}
		var routes []string
		for j, p := range routePorts {
			if j != i {
				routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
			}
		}
		s.extra = []string{"--server_name", s.name, "--cluster_name", c.Name,
			"--cluster", "nats://127.0.0.1:" + strconv.Itoa(routePorts[i]),
			"--routes", strings.Join(routes, ","),
			"-m", strconv.Itoa(s.monitor)}
		c.Servers = append(c.Servers, s)
	}
	for _, s := range c.Servers {
		s.Start()
		t.Cleanup(s.Kill)
	}
	c.WaitMetaLeader(30 * time.Second)
	return c
}

// URL lists every server's nats:// URL, comma-separated.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL()
	}
	return strings.Join(urls, ",")
}

// ByName returns the server named name (as StreamInfo.Cluster.Leader names
// it), or nil.
func (c *Cluster) ByName(name string) *Server {
	for _, s := range c.Servers {
		if s.name == name {
			return s
		}
	}
	return nil
}

// WaitMetaLeader waits until a running server reports a JetStream meta
// leader and all its peers current, failing the test after timeout.
func (c *Cluster) WaitMetaLeader(timeout time.Duration) {
	c.Servers[0].t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		for _, s := range c.Servers {
			if s.cmd == nil {
				continue
			}
			ok, state := s.metaReady(len(c.Servers))
			if ok {
				return
			}
			last = state
		}
		if time.Now().After(deadline) {
			c.Servers[0].t.Fatalf("JetStream cluster %s has no meta leader after %v: %s", c.Name, timeout, last)
		}
		time.Sleep(100 * time.Millisecond) // polling the servers' monitoring endpoint
	}
}

// metaReady asks the server's /jsz whether the meta group has a leader and
// n members, all current.
func (s *Server) metaReady(n int) (bool, string) {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get("http://127.0.0.1:" + strconv.Itoa(s.monitor) + "/jsz")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	var jsz struct {
		Meta *struct {
			Leader   string `json:"leader"`
			Replicas []struct {
				Current bool `json:"current"`
				Offline bool `json:"offline"`
			} `json:"replicas"`
		} `json:"meta_cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jsz); err != nil {
		return false, err.Error()
	}
	if jsz.Meta == nil || jsz.Meta.Leader == "" {
		return false, s.name + ": no meta leader yet"
	}
	if jsz.Meta.Leader != s.name {
		return false, s.name + ": not the meta leader"
	}
	current := 1
	for _, r := range jsz.Meta.Replicas {
		if r.Current && !r.Offline {
			current++
		}
	}
	if current < n {
		return false, fmt.Sprintf("%s: meta leader with %d of %d peers current", s.name, current, n)
	}
	return true, ""
}

// freePort returns a TCP port of the local address host, free at the time
// of the call.
func freePort(t testing.TB, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
