package intake

import (
	"fmt"
	"net/netip"
	"syscall"
)

// blockedError is a connection the SSRF guard refused.
type blockedError struct {
	addr   netip.Addr
	reason string // e.g. "a loopback address"
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("%s is %s", e.addr, e.reason)
}

// Address ranges that are not the public internet, beyond what netip's
// predicates cover.
var blockedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
}

// Prefixes that embed an IPv4 address, which is checked in turn.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// blockedReason says why ip is not a public internet address, or "".
func blockedReason(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "not a valid address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address (like the cloud metadata service 169.254.169.254)"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	if nat64.Contains(ip) {
		b := ip.As16()
		if r := blockedReason(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
			return "a NAT64 address of " + r
		}
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		if r := blockedReason(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
			return "a 6to4 address of " + r
		}
	}
	for _, p := range blockedPrefixes {
		if p.prefix.Contains(ip) {
			return p.reason
		}
	}
	return ""
}

// dialControl runs for every connection FromURL opens, after name
// resolution and before connecting: it checks the address actually dialled,
// so neither redirects nor DNS answers that change between lookups can
// reach a private address.
func (s *Service) dialControl(network, address string, _ syscall.RawConn) error {
	if s.cfg.AllowPrivateURLs {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("intake: unexpected dial address %q: %w", address, err)
	}
	if s.allowAddr != nil && s.allowAddr(ap) {
		return nil
	}
	if r := blockedReason(ap.Addr()); r != "" {
		return &blockedError{addr: ap.Addr().Unmap(), reason: r}
	}
	return nil
}
