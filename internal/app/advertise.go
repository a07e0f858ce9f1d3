package app

import (
	"fmt"
	"net"
	"strings"

	"github.com/ospreyvideo/osprey/internal/config"
)

// advertiseURL is where the other nodes reach this node's HTTP listener
// at addr: config.AdvertiseURL, else the listener's own IP, or, for a
// listener on every interface, the first non-loopback address of this
// host (loopback when it has none).
func advertiseURL(cfg *config.Config, addr net.Addr) (string, error) {
	if cfg.AdvertiseURL != "" {
		return strings.TrimRight(cfg.AdvertiseURL, "/"), nil
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", fmt.Errorf("advertise_url: from the HTTP address %q: %w", addr, err)
	}
	scheme := "http"
	if cfg.Security.TLSCert != "" {
		scheme = "https"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = firstAddress()
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// firstAddress is the first global unicast IPv4 address of this host's
// interfaces, else the first IPv6 one, else 127.0.0.1.
func firstAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	var v6 string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || !ipn.IP.IsGlobalUnicast() {
			continue
		}
		if ip4 := ipn.IP.To4(); ip4 != nil {
			return ip4.String()
		}
		if v6 == "" {
			v6 = ipn.IP.String()
		}
	}
	if v6 != "" {
		return v6
	}
	return "127.0.0.1"
}
