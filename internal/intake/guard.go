package intake

import (
	"net/netip"

	"github.com/ospreyvideo/osprey/internal/netguard"
)

// blockedError is a connection or host the SSRF guard refused.
type blockedError = netguard.BlockedError

// guard is the SSRF policy of URL imports: non-public addresses are
// refused unless AllowPrivateURLs is set. Its transport checks every
// address actually dialled, after name resolution, so neither redirects
// nor DNS answers that change between lookups can reach one; CheckHost
// refuses a literal address or localhost before any request.
func (s *Service) guard() netguard.Guard {
	return netguard.Guard{AllowPrivate: s.cfg.AllowPrivateURLs, Allow: s.allowed}
}

// allowed lets tests admit one address the guard would refuse
// (allowAddr, read when the connection is made).
func (s *Service) allowed(ap netip.AddrPort) bool {
	return s.allowAddr != nil && s.allowAddr(ap)
}
