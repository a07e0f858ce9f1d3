package front

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// ListenTCP listens on addr and serves every connection the door admits
// with serve, in a goroutine Close waits for. nc's reads feed the idle
// deadline; the door closes nc when it cuts the connection, and after serve
// returns. Connections over a cap are closed at once.
func (d *Door) ListenTCP(addr string, serve func(c *Conn, nc net.Conn)) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	if err := d.onClose(func() { _ = ln.Close() }); err != nil {
		return nil, err
	}
	if !d.Go(func() { d.acceptTCP(ln, serve) }) {
		return nil, errors.New("door closed while starting")
	}
	return ln.Addr(), nil
}

func (d *Door) acceptTCP(ln net.Listener, serve func(c *Conn, nc net.Conn)) {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if d.Closed() {
				return
			}
			// e.g. EMFILE: wait and retry rather than spin or give up
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			d.log.Warn("accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-d.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		c, err := d.Admit(nc.RemoteAddr())
		if err != nil {
			_ = nc.Close()
			continue
		}
		c.OnCut(func() { _ = nc.Close() })
		started := d.Go(func() {
			defer c.Release()
			defer nc.Close()
			serve(c, newWatchedConn(nc, c))
		})
		if !started {
			_ = nc.Close()
			c.Release()
		}
	}
}
