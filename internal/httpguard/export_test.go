package httpguard

import (
	"net"
	"net/netip"

	dto "github.com/prometheus/client_model/go"
)

// Test-only views of the guard's state, kept out of the production API.

// connsRefused is the number of connections the guard closed at accept,
// read from its osprey_http_connections_refused_total counter.
func (g *Guard) connsRefused() int64 {
	var n int64
	for _, reason := range []string{rejectTotal, rejectPerIP} {
		var m dto.Metric
		if err := g.metrics.connections.WithLabelValues(reason).Write(&m); err != nil {
			panic(err)
		}
		n += int64(m.GetCounter().GetValue())
	}
	return n
}

// openConnections reports, for a listener returned by Listener (before
// TLS), the connections open in total and from addr; ok is false for any
// other listener.
func openConnections(ln net.Listener, addr netip.Addr) (total, fromAddr int, ok bool) {
	c, ok := ln.(*capListener)
	if !ok {
		return 0, 0, false
	}
	total, fromAddr = c.open(addr)
	return total, fromAddr, true
}

// clients returns the number of clients l tracks.
func (l *Limiter) clients() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// open returns the connections open in total and from addr's bucket.
func (l *capListener) open(addr netip.Addr) (total, fromKey int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.byAddr[bucketKey(addr)]
}
