package httpguard

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
)

// capListener closes, as soon as they are accepted, the connections over
// a global cap or over a cap per client address (IPv6 by /64), so that one
// address holding idle or half-open connections cannot take every slot.
// Trusted proxies count only against the global cap.
type capListener struct {
	net.Listener
	max, perIP int
	trusted    proxies
	onReject   func(reason string)

	mu     sync.Mutex
	total  int
	byAddr map[netip.Addr]int
}

// Reasons a connection is refused.
const (
	rejectTotal = "max_connections"
	rejectPerIP = "max_connections_per_ip"
)

func newCapListener(ln net.Listener, maxTotal, perIP int, trusted proxies, onReject func(string)) *capListener {
	return &capListener{Listener: ln, max: maxTotal, perIP: perIP, trusted: trusted, onReject: onReject,
		byAddr: make(map[netip.Addr]int)}
}

// Accept returns the next connection within the caps.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := connAddr(c)
		key := bucketKey(addr)
		counted, reason := l.admit(addr, key)
		if reason != "" {
			_ = c.Close()
			if l.onReject != nil {
				l.onReject(reason)
			}
			continue
		}
		return &capConn{Conn: c, l: l, key: key, counted: counted}, nil
	}
}

func connAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

// admit takes a slot for a connection from addr, counted under key
// unless addr is exempt; reason is why it cannot, or "".
func (l *capListener) admit(addr, key netip.Addr) (counted bool, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max {
		return false, rejectTotal
	}
	counted = !l.trusted.contains(addr)
	if counted && l.byAddr[key] >= l.perIP {
		return false, rejectPerIP
	}
	l.total++
	if counted {
		l.byAddr[key]++
	}
	return counted, ""
}

func (l *capListener) release(key netip.Addr, counted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if !counted {
		return
	}
	if n, ok := l.byAddr[key]; ok {
		if n <= 1 {
			delete(l.byAddr, key)
		} else {
			l.byAddr[key] = n - 1
		}
	}
}

// capConn gives its slot back when closed.
type capConn struct {
	net.Conn
	l       *capListener
	key     netip.Addr
	counted bool
	once    sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key, c.counted) })
	return err
}

// ReadFrom keeps sendfile for net/http's responses (it looks for
// io.ReaderFrom on the connection).
func (c *capConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// CloseWrite half-closes, as *net.TCPConn does (net/http uses it to end a
// connection gracefully).
func (c *capConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

type writerOnly struct{ io.Writer }
