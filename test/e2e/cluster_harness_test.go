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

	"github.com/ospreyvideo/osprey/internal/events/nats/natstest"
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
	nats    *natstest.Server
}

// newCluster starts versitygw with a new bucket, creates a PostgreSQL
// database and starts a nats-server; the AWS credentials of the bucket
// are put in the environment every node inherits.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	return newClusterOn(t, "127.0.0.1", pgtest.Database(t))
}

// newClusterOn is newCluster with versitygw and nats-server listening on
// the local address host, and the catalog at catalogURL.
func newClusterOn(t *testing.T, host, catalogURL string) *cluster {
	t.Helper()
	srv := s3test.StartOn(t, host)
	c := &cluster{t: t, s3: srv, bucket: srv.NewBucket(t), catalog: catalogURL, nats: natstest.StartServerOn(t, host, false)}
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
	return []string{"--storage", c.storage, "--catalog", c.catalog, "--events", c.nats.URL(),
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

// nodeIn starts `osprey serve` inside zone z, listening on its address.
func (c *cluster) nodeIn(z *zone, name, roles string, extra ...string) *server {
	c.t.Helper()
	start := time.Now()
	s := startOspreyVia(c.t, z.launcher(), z.addr, c.t.TempDir(), append(c.nodeArgs(name, roles), extra...)...)
	c.t.Logf("node %s (%s) in zone %s serving at %s, rtmp %q, in %v", name, roles, z.name, s.httpBase, s.rtmpAddr, time.Since(start).Round(time.Millisecond))
	return s
}

// edge starts `osprey edge` on the cluster's bus in front of origins.
func (c *cluster) edge(name string, origins ...*server) *edgeProc {
	c.t.Helper()
	args := []string{"--events", c.nats.URL(), "--node-id", name, "--origin-timeout", "1s", "--origin-connect-timeout", "500ms"}
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
