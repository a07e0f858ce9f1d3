// Package netguard keeps outgoing connections on the public internet: a
// dialer Control function that refuses loopback, private, link-local (cloud
// metadata), carrier-grade NAT, unique-local, multicast and other
// non-public addresses. It checks the address actually dialled, after name
// resolution, so neither redirects nor DNS answers that change between
// lookups (rebinding) can reach a refused address. URL imports and webhook
// deliveries use it; their clients also ignore proxies from the environment
// so that the guard sees the real destination.
package netguard

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// BlockedError is a connection or URL the guard refused.
type BlockedError struct {
	Addr   netip.Addr // unmapped; invalid for a refused host name
	Host   string     // the host name refused without resolution ("localhost"), or ""
	Reason string     // e.g. "a loopback address"
}

func (e *BlockedError) Error() string {
	if e.Host != "" {
		return fmt.Sprintf("%s is %s", e.Host, e.Reason)
	}
	return fmt.Sprintf("%s is %s", e.Addr, e.Reason)
}

// Guard is the policy of one client. The zero value refuses every
// non-public address.
type Guard struct {
	// AllowPrivate turns the guard off (for a deployment whose receivers
	// or sources live on the private network).
	AllowPrivate bool
	// Allow, when set, admits an address the guard would refuse (tests use
	// it to let one loopback server through).
	Allow func(netip.AddrPort) bool
}

// Control is a net.Dialer Control function: it runs for every connection
// after name resolution and before connecting, and refuses non-public
// addresses with a *BlockedError.
func (g Guard) Control(network, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: unexpected dial address %q: %w", address, err)
	}
	if g.Allow != nil && g.Allow(ap) {
		return nil
	}
	if r := Reason(ap.Addr()); r != "" {
		return &BlockedError{Addr: ap.Addr().Unmap(), Reason: r}
	}
	return nil
}

// CheckHost refuses, without any name resolution, a host that is a literal
// non-public address or a name for this machine ("localhost" and its
// subdomains, RFC 6761). host is a URL's Hostname(): IPv6 without brackets,
// possibly with a zone. Other names pass; the dial-time Control still
// checks what they resolve to.
func (g Guard) CheckHost(host, port string) error {
	if g.AllowPrivate {
		return nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return &BlockedError{Host: host, Reason: "this machine (a loopback name)"}
	}
	// Only a matched pair of brackets is IPv6 literal syntax: trimming
	// any bracket turned "::%[" (the unspecified address, zone "[") into
	// "::%", which does not parse, and so passed it as a name.
	lit := host
	if strings.HasPrefix(lit, "[") && strings.HasSuffix(lit, "]") {
		lit = lit[1 : len(lit)-1]
	}
	ip, err := netip.ParseAddr(lit)
	if err != nil {
		return nil // a name: checked when dialled
	}
	if g.Allow != nil {
		if p, err := strconv.ParseUint(port, 10, 16); err == nil && g.Allow(netip.AddrPortFrom(ip.WithZone("").Unmap(), uint16(p))) {
			return nil
		}
	}
	if r := Reason(ip); r != "" {
		return &BlockedError{Addr: ip.WithZone("").Unmap(), Reason: r}
	}
	return nil
}
