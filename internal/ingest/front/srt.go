package front

import (
	"errors"
	"fmt"
	"net"

	gosrt "github.com/datarhei/gosrt"

	"github.com/ospreyvideo/osprey/internal/ingest"
)

// ListenSRT listens for SRT on addr with conf and hands every connection
// request the door admits to handle, in a goroutine Close waits for; handle
// must Accept or Reject the request, within the handshake deadline (the
// Conn's context ends then). Requests over a cap are rejected at once with
// REJX_OVERLOAD.
func (d *Door) ListenSRT(addr string, conf gosrt.Config, handle func(c *Conn, req gosrt.ConnRequest)) (net.Addr, error) {
	ln, err := gosrt.Listen("srt", addr, conf)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	if err := d.onClose(ln.Close); err != nil {
		return nil, err
	}
	if !d.Go(func() { d.acceptSRT(ln, handle) }) {
		return nil, errors.New("door closed while starting")
	}
	return ln.Addr(), nil
}

func (d *Door) acceptSRT(ln gosrt.Listener, handle func(c *Conn, req gosrt.ConnRequest)) {
	for {
		// Accept2 also answers inductions (statelessly, with a SYN
		// cookie): only conclusions become requests.
		req, err := ln.Accept2()
		if err != nil {
			if !d.Closed() {
				d.log.Error("SRT listener failed", "err", err)
			}
			return
		}
		c, err := d.Admit(req.RemoteAddr())
		if err != nil {
			if errors.Is(err, ingest.ErrServerClosed) {
				req.Reject(gosrt.REJ_CLOSE)
			} else {
				req.Reject(gosrt.REJX_OVERLOAD)
			}
			continue
		}
		started := d.Go(func() {
			defer c.Release()
			handle(c, req)
		})
		if !started {
			req.Reject(gosrt.REJ_CLOSE)
			c.Release()
		}
	}
}
