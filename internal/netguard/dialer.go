package netguard

import (
	"net"
	"net/http"
	"time"
)

// Dialer returns a net.Dialer that applies g to every connection.
func (g Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.Control}
}

// Transport returns an http.Transport that dials through g and never uses
// a proxy (one from the environment would hide the real destination from
// the guard, and could itself sit on the private network).
func (g Guard) Transport(dialTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer(dialTimeout).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   dialTimeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
