package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Two availability zones on one machine: network namespaces joined to
// the test's own namespace (the "region") by veth pairs. The region holds
// the shared services (PostgreSQL, S3, NATS) on servicesAddr, an address
// of its loopback that every zone routes to through its uplink; nodes in
// a zone listen on the zone's address. Cutting a zone takes its uplink
// down inside the zone: the region's packets to the zone vanish silently
// (as in a real partition, peers learn it only from timeouts), and the
// zone has no route out.
//
// It needs root (CAP_NET_ADMIN) and iproute2; names and the 10.231/16
// subnet are fixed, and what an earlier, killed run left is removed first.

const (
	servicesAddr = "10.231.0.1"
	zonesSubnet  = "10.231.0.0/16"
)

// zone is one network namespace.
type zone struct {
	t      *testing.T
	name   string // "a"
	ns     string // namespace name
	hostIf string // the region's end of the veth pair
	nsIf   string // the zone's end
	gw     string // the region's address on the link
	addr   string // the zone's address, where its nodes listen
}

// newZones creates zones a and b, removed when the test ends.
func newZones(t *testing.T) (*zone, *zone) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the zones test builds network namespaces and needs root (CAP_NET_ADMIN); run the e2e suite as root, as the README's test command does")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the zones test needs iproute2 (apt-get install iproute2)")
	}
	removeZones()
	t.Cleanup(removeZones)
	mustIP(t, "addr", "add", servicesAddr+"/32", "dev", "lo")
	return newZone(t, "a", 1), newZone(t, "b", 2)
}

func newZone(t *testing.T, name string, n int) *zone {
	z := &zone{t: t, name: name, ns: "osprey-e2e-z" + name, hostIf: "oe2e-z" + name, nsIf: "oe2e-z" + name + "-in",
		gw: fmt.Sprintf("10.231.%d.1", n), addr: fmt.Sprintf("10.231.%d.2", n)}
	mustIP(t, "netns", "add", z.ns)
	mustIP(t, "link", "add", z.hostIf, "type", "veth", "peer", "name", z.nsIf)
	mustIP(t, "link", "set", z.nsIf, "netns", z.ns)
	mustIP(t, "addr", "add", z.gw+"/24", "dev", z.hostIf)
	mustIP(t, "link", "set", z.hostIf, "up")
	z.in("addr", "add", z.addr+"/24", "dev", z.nsIf)
	z.in("link", "set", "lo", "up")
	z.restore()
	return z
}

// removeZones deletes what newZones creates, ignoring what is not there.
func removeZones() {
	for _, n := range []string{"a", "b"} {
		_ = exec.Command("ip", "netns", "del", "osprey-e2e-z"+n).Run()
		_ = exec.Command("ip", "link", "del", "oe2e-z"+n).Run()
	}
	_ = exec.Command("ip", "addr", "del", servicesAddr+"/32", "dev", "lo").Run()
}

// launcher runs a command inside the zone.
func (z *zone) launcher() []string { return []string{"ip", "netns", "exec", z.ns} }

// cut takes the zone's uplink down.
func (z *zone) cut() {
	z.t.Helper()
	z.in("link", "set", z.nsIf, "down")
	z.t.Logf("zone %s cut off", z.name)
}

// restore brings the uplink up with the zone's default route.
func (z *zone) restore() {
	z.t.Helper()
	z.in("link", "set", z.nsIf, "up")
	z.in("route", "replace", "default", "via", z.gw)
}

// in runs `ip ARGS` inside the zone.
func (z *zone) in(args ...string) {
	z.t.Helper()
	mustIP(z.t, append([]string{"-n", z.ns}, args...)...)
}

// get fetches a URL from inside the zone (curl), returning the status and
// body; status 0 when the request failed.
func (z *zone) get(url string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", z.ns,
		"curl", "-s", "-m", "5", "-w", "\n%{http_code}", url).Output()
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	if i < 0 {
		return 0, s
	}
	var code int
	fmt.Sscan(s[i+1:], &code)
	return code, s[:i]
}

func mustIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
