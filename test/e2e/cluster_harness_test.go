package e2e

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/lease/pgtest"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// The cluster tests run the real binary as several nodes on loopback,
// standing on a real PostgreSQL (a fresh database per test), versitygw (a
// bucket of its own) and a nats-server of the test's own. osprey serve
// cannot be told another JetStream stream or subject prefix than OSPREY on
// osprey.>, so each cluster gets a private nats-server rather than sharing
// the machine's: cluster tests never see each other's events. They do not
// call t.Parallel (they set the AWS credentials with t.Setenv, and the
// machine has two cores).

// cluster is the shared parts of a test cluster.
type cluster struct {
	t       *testing.T
	s3      *s3test.Server
	bucket  string
	storage string // --storage
	catalog string // --catalog
	nats    *natsServer
}

// newCluster starts versitygw with a new bucket, creates a PostgreSQL
// database and starts a nats-server; the AWS credentials of the bucket
// are put in the environment every node inherits.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	srv := s3test.Start(t)
	c := &cluster{t: t, s3: srv, bucket: srv.NewBucket(t), catalog: pgtest.Database(t), nats: startNATS(t)}
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c.storage = "s3://" + c.bucket + "/?endpoint=" + url.QueryEscape(u.String()) + "&path_style=true&region=us-east-1"
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	return c
}

// nodeArgs are the flags every serve node of c gets.
func (c *cluster) nodeArgs(name, roles string) []string {
	return []string{"--storage", c.storage, "--catalog", c.catalog, "--events", c.nats.url(),
		"--roles", roles, "--node-id", name, "--ladder", "low"}
}

// node starts `osprey serve` with the given roles on a data folder of its own.
func (c *cluster) node(name, roles string, extra ...string) *server {
	c.t.Helper()
	start := time.Now()
	s := startOspreyIn(c.t, c.t.TempDir(), append(c.nodeArgs(name, roles), extra...)...)
	c.t.Logf("node %s (%s) serving at %s, rtmp %q, in %v", name, roles, s.httpBase, s.rtmpAddr, time.Since(start).Round(time.Millisecond))
	return s
}

// edge starts `osprey edge` on the cluster's bus in front of origins.
func (c *cluster) edge(name string, origins ...*server) *edgeProc {
	c.t.Helper()
	args := []string{"--events", c.nats.url(), "--node-id", name, "--origin-timeout", "1s", "--origin-connect-timeout", "500ms"}
	for _, o := range origins {
		args = append(args, "--origin", o.httpBase)
	}
	return startEdge(c.t, args...)
}

// objects lists every object of the cluster's bucket.
func (c *cluster) objects() []storage.Info {
	c.t.Helper()
	st := c.bucketStore()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	infos, err := st.List(ctx, "")
	if err != nil {
		c.t.Fatalf("listing the bucket: %v", err)
	}
	return infos
}

// pendingUploads lists the bucket's unfinished multipart uploads.
func (c *cluster) pendingUploads() []s3.PendingUpload {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ups, err := c.bucketStore().ListUploads(ctx, "")
	if err != nil {
		c.t.Fatalf("listing multipart uploads: %v", err)
	}
	return ups
}

func (c *cluster) bucketStore() *s3.Store {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := s3.New(ctx, c.s3.Config(c.bucket))
	if err != nil {
		c.t.Fatalf("opening the bucket: %v", err)
	}
	return st
}

// kill9 kills a process with SIGKILL and waits until it is gone.
func kill9(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.exited
}

// natsServer is a nats-server with JetStream of one test, restartable on
// the same port and store.
type natsServer struct {
	t     *testing.T
	bin   string
	addr  string
	store string
	cmd   *exec.Cmd
	done  chan struct{}
}

// startNATS runs nats-server -js on a free loopback port. A missing
// nats-server fails the test with how to install it.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin := "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nats-server"); err != nil {
			t.Fatalf("the cluster tests need nats-server (apt-get install nats-server, or the README's test command): %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n := &natsServer{t: t, bin: bin, addr: addr, store: t.TempDir()}
	n.start()
	t.Cleanup(func() { n.kill() })
	return n
}

func (n *natsServer) url() string { return "nats://" + n.addr }

func (n *natsServer) start() {
	n.t.Helper()
	host, port, _ := net.SplitHostPort(n.addr)
	n.cmd = exec.Command(n.bin, "-a", host, "-p", port, "-js", "-sd", n.store)
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("starting nats-server: %v", err)
	}
	done := make(chan struct{})
	n.done = done
	go func() { _ = n.cmd.Wait(); close(done) }()
	waitFor(n.t, 10*time.Second, "nats-server to listen on "+n.addr, func() bool {
		conn, err := net.DialTimeout("tcp", n.addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

// kill stops the server with SIGKILL (idempotent).
func (n *natsServer) kill() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
}

// runToExit runs `osprey args...` with extra environment entries (later
// entries win) and returns its combined output, how long it ran and its error; it fails the
// test when the process has not exited within limit.
func runToExit(t *testing.T, limit time.Duration, env []string, args ...string) (string, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, ospreyBin, args...)
	cmd.Env = append(append(os.Environ(), "OSPREY_ADMIN_TOKEN="+adminToken), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("osprey %s still running after %v:\n%s", strings.Join(args, " "), limit, out)
	}
	return string(out), took, err
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// swapBase replaces the scheme and host of u with base's.
func swapBase(t *testing.T, u, base string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p.Scheme, p.Host = b.Scheme, b.Host
	return p.String()
}
