package intake

import (
	"syscall"

	"github.com/ospreyvideo/osprey/internal/netguard"
)

// blockedError is a connection the SSRF guard refused.
type blockedError = netguard.BlockedError

// dialControl runs for every connection FromURL opens, after name
// resolution and before connecting: it checks the address actually dialled,
// so neither redirects nor DNS answers that change between lookups can
// reach a private address.
func (s *Service) dialControl(network, address string, c syscall.RawConn) error {
	return netguard.Guard{AllowPrivate: s.cfg.AllowPrivateURLs, Allow: s.allowAddr}.Control(network, address, c)
}
