// Package leasetest is the conformance suite every lease.Leaser backend
// passes: exclusivity between nodes and within one, release, Held,
// RequestRelease, and (where the backend has a connection to lose or a
// process to kill) Lost on a severed connection and leases freed by kill -9.
package leasetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/lease"
)

// Cluster is one shared lease table the suite runs nodes on.
type Cluster struct {
	// Node returns a Leaser for a new node named id; the suite closes it,
	// and the backend should also close it at cleanup.
	Node func(t *testing.T, id string) lease.Leaser
	// Sever, if set, breaks node id's connection to the lease table from
	// outside, as a server restart or a network cut would.
	Sever func(t *testing.T, id string)
	// Child, if set, returns a command for a process that joins the cluster
	// as node id, acquires name, writes "held" and a newline to its
	// standard output and waits to be killed.
	Child func(t *testing.T, id, name string) *exec.Cmd
}

// ChildReady is the line a Child process writes once it holds its lease.
const ChildReady = "held"

// Run runs the suite; newCluster returns a fresh, empty table each call.
func Run(t *testing.T, newCluster func(t *testing.T) Cluster) {
	t.Run("Exclusive", func(t *testing.T) { testExclusive(t, newCluster(t)) })
	t.Run("ConcurrentAcquire", func(t *testing.T) { testConcurrent(t, newCluster(t)) })
	t.Run("Release", func(t *testing.T) { testRelease(t, newCluster(t)) })
	t.Run("CloseReleases", func(t *testing.T) { testClose(t, newCluster(t)) })
	t.Run("RequestRelease", func(t *testing.T) { testRequestRelease(t, newCluster(t)) })
	c := newCluster(t)
	if c.Sever != nil {
		t.Run("LostOnSeveredConnection", func(t *testing.T) { testSever(t, newCluster(t)) })
	}
	if c.Child != nil {
		t.Run("KilledNodeFreesLease", func(t *testing.T) { testKilledChild(t, newCluster(t)) })
	}
}

func acquire(t *testing.T, l lease.Leaser, name string) lease.Lease {
	t.Helper()
	ls, err := l.Acquire(context.Background(), name)
	if err != nil {
		t.Fatalf("Acquire(%q): %v", name, err)
	}
	if ls.Name() != name {
		t.Fatalf("Name() = %q, want %q", ls.Name(), name)
	}
	return ls
}

func refused(t *testing.T, l lease.Leaser, name string) {
	t.Helper()
	ls, err := l.Acquire(context.Background(), name)
	if err == nil {
		_ = ls.Release()
		t.Fatalf("Acquire(%q) succeeded while the name is held", name)
	}
	if !errors.Is(err, lease.ErrHeld) {
		t.Fatalf("Acquire(%q) = %v, want an error wrapping lease.ErrHeld", name, err)
	}
}

func held(t *testing.T, l lease.Leaser, name string, want bool) {
	t.Helper()
	got, err := l.Held(context.Background(), name)
	if err != nil {
		t.Fatalf("Held(%q): %v", name, err)
	}
	if got != want {
		t.Fatalf("Held(%q) = %v, want %v", name, got, want)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatalf("%s did not happen within %v", what, within)
	}
}

// eventually retries Acquire every 50 ms until it succeeds or within ends.
func eventually(t *testing.T, l lease.Leaser, name string, within time.Duration) (lease.Lease, time.Duration) {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < within {
		var ls lease.Lease
		if ls, err = l.Acquire(context.Background(), name); err == nil {
			return ls, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Acquire(%q) still failing after %v: %v", name, within, err)
	return nil, 0
}

func testExclusive(t *testing.T, c Cluster) {
	a, b := c.Node(t, "node-a"), c.Node(t, "node-b")
	defer a.Close()
	defer b.Close()
	held(t, b, "ch/1", false)
	la := acquire(t, a, "ch/1")
	refused(t, b, "ch/1")
	refused(t, a, "ch/1") // a second holder on the same node is refused too
	held(t, a, "ch/1", true)
	held(t, b, "ch/1", true)
	held(t, b, "ch/2", false)
	lb := acquire(t, b, "ch/2")
	refused(t, a, "ch/2")
	if isClosed(la.Lost()) || isClosed(lb.Lost()) || isClosed(la.ReleaseRequested()) {
		t.Fatal("a fresh lease is already lost or asked for")
	}
}

func testConcurrent(t *testing.T, c Cluster) {
	nodes := []lease.Leaser{c.Node(t, "node-a"), c.Node(t, "node-b"), c.Node(t, "node-c")}
	for _, n := range nodes {
		defer n.Close()
	}
	for round := range 5 {
		name := fmt.Sprintf("race/%d", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []lease.Lease
		for i := range 12 {
			wg.Go(func() {
				ls, err := nodes[i%len(nodes)].Acquire(context.Background(), name)
				if err != nil {
					if !errors.Is(err, lease.ErrHeld) {
						t.Errorf("Acquire: %v", err)
					}
					return
				}
				mu.Lock()
				won = append(won, ls)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("round %d: %d holders of one name, want 1", round, len(won))
		}
	}
}

func testRelease(t *testing.T, c Cluster) {
	a, b := c.Node(t, "node-a"), c.Node(t, "node-b")
	defer a.Close()
	defer b.Close()
	la := acquire(t, a, "up/1")
	if err := la.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := la.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	held(t, b, "up/1", false)
	lb := acquire(t, b, "up/1")
	if err := la.Release(); err != nil { // must not free b's lease
		t.Fatalf("third Release: %v", err)
	}
	held(t, a, "up/1", true)
	refused(t, a, "up/1")
	if isClosed(la.Lost()) {
		t.Fatal("Release closed Lost")
	}
	if err := lb.Release(); err != nil {
		t.Fatal(err)
	}
	acquire(t, a, "up/1")
}

func testClose(t *testing.T, c Cluster) {
	a, b := c.Node(t, "node-a"), c.Node(t, "node-b")
	defer b.Close()
	la := acquire(t, a, "w/1")
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !isClosed(la.Lost()) {
		t.Fatal("Close left the lease's Lost open")
	}
	if err := la.Release(); err != nil {
		t.Fatalf("Release after Close: %v", err)
	}
	eventually(t, b, "w/1", 5*time.Second)
	if _, err := a.Acquire(context.Background(), "w/2"); err == nil {
		t.Fatal("Acquire on a closed Leaser succeeded")
	}
}

func testRequestRelease(t *testing.T, c Cluster) {
	a, b := c.Node(t, "node-a"), c.Node(t, "node-b")
	defer a.Close()
	defer b.Close()
	la := acquire(t, a, "tus/1")
	other := acquire(t, a, "tus/2")
	if err := b.RequestRelease(context.Background(), "tus/1"); err != nil {
		t.Fatalf("RequestRelease: %v", err)
	}
	waitClosed(t, la.ReleaseRequested(), 5*time.Second, "ReleaseRequested after another node's RequestRelease")
	if isClosed(la.Lost()) {
		t.Fatal("RequestRelease closed Lost")
	}
	if err := b.RequestRelease(context.Background(), "nobody/holds"); err != nil {
		t.Fatalf("RequestRelease of a free name: %v", err)
	}
	// The holder's own node may ask too (a second local request).
	lb := acquire(t, b, "tus/3")
	if err := b.RequestRelease(context.Background(), "tus/3"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, lb.ReleaseRequested(), 5*time.Second, "ReleaseRequested after the same node's RequestRelease")
	if isClosed(other.ReleaseRequested()) {
		t.Fatal("a request for tus/1 reached the lease on tus/2")
	}
	if err := la.Release(); err != nil {
		t.Fatal(err)
	}
	acquire(t, b, "tus/1")
}

func testSever(t *testing.T, c Cluster) {
	a, b := c.Node(t, "node-a"), c.Node(t, "node-b")
	defer a.Close()
	defer b.Close()
	la := acquire(t, a, "live/1")
	c.Sever(t, "node-a")
	start := time.Now()
	waitClosed(t, la.Lost(), 5*time.Second, "Lost after the connection was severed")
	t.Logf("Lost closed %v after the connection was cut", time.Since(start).Round(time.Millisecond))
	lb, _ := eventually(t, b, "live/1", 10*time.Second)
	if err := la.Release(); err != nil {
		t.Fatalf("Release of a lost lease: %v", err)
	}
	held(t, a, "live/1", true) // Release of the lost lease freed nothing of b's
	if err := lb.Release(); err != nil {
		t.Fatal(err)
	}
	_, took := eventually(t, a, "live/1", 10*time.Second)
	t.Logf("node a re-acquired %v after b released", took.Round(time.Millisecond))
}

func testKilledChild(t *testing.T, c Cluster) {
	a := c.Node(t, "node-a")
	defer a.Close()
	cmd := c.Child(t, "node-child", "vod/1")
	select {
	case line := <-StartChild(t, cmd):
		if line != ChildReady {
			t.Fatalf("child wrote %q, want %q", line, ChildReady)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not acquire its lease in 30 s")
	}
	held(t, a, "vod/1", true)
	refused(t, a, "vod/1")
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_, took := eventually(t, a, "vod/1", 10*time.Second)
	t.Logf("the lease of the process killed with -9 was acquired %v later", took.Round(time.Millisecond))
}

// RunChild is a Child process's body: it acquires name on l, writes
// ChildReady and blocks until killed. It returns only on error.
func RunChild(l lease.Leaser, name string) error {
	if _, err := l.Acquire(context.Background(), name); err != nil {
		return err
	}
	fmt.Println(ChildReady)
	select {}
}

// StartChild starts cmd, a node's process the test will kill, with its
// standard output piped; it is killed and waited for when the test ends.
// The channel receives the first line it writes, trimmed ("" when it
// writes none).
func StartChild(t testing.TB, cmd *exec.Cmd) <-chan string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	line := make(chan string, 1)
	read := make(chan struct{})
	go func() {
		defer close(read)
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-read // the pipe is closed once the process is gone
		_ = cmd.Wait()
	})
	return line
}
