package netguard

import "net/netip"

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

// Reason says why ip is not a public internet address, or "" when it is.
// IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4 address they
// carry; the zone is ignored.
func Reason(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
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
		if r := Reason(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
			return "a NAT64 address of " + r
		}
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		if r := Reason(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
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
