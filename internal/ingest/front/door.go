// Package front is the ingest front door shared by the RTMP and SRT
// listeners: the accept loops, a registry of connections with a global and a
// per-address cap, the handshake deadline, the idle deadline of publishers,
// and a Close that cuts every connection and waits for every goroutine.
//
// Life of a connection: Admit registers it, or refuses it at once when the
// listener or the client's address is full. From then on it has
// Config.HandshakeTimeout to complete the protocol handshake and have its
// stream key accepted (Conn.Established), or the door cuts it. Once
// established, it is cut after Config.IdleTimeout without data (Conn.Watch
// notes the data). The goroutine serving it calls Conn.Release at the end.
//
// Caps count connections still in their handshake and publishing ones
// alike, so a flood of idle sockets from one host holds at most
// MaxConnsPerIP places, for at most HandshakeTimeout each.
package front

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxConns         = 1000
	DefaultMaxConnsPerIP    = 16
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultIdleTimeout      = 10 * time.Second
)

// Config sets a door's caps and deadlines. Zero fields take the defaults.
type Config struct {
	// MaxConns caps the connections of the listener, handshaking or
	// publishing.
	MaxConns int
	// MaxConnsPerIP caps the connections from one client address (IPv6
	// addresses by /64).
	MaxConnsPerIP int
	// HandshakeTimeout bounds the time from accept to Conn.Established:
	// the protocol handshake and the stream key check.
	HandshakeTimeout time.Duration
	// IdleTimeout is how long an established connection may receive no data.
	IdleTimeout time.Duration
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// ErrFull: the listener, or the client's address, has as many connections
// as its cap allows.
var ErrFull = errors.New("too many connections")

// Door is the registry of one listener's connections.
type Door struct {
	cfg  Config
	log  *slog.Logger
	base time.Time // origin of Conn.last

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	closers  []func() // listeners
	conns    map[*Conn]struct{}
	perIP    map[netip.Addr]int
	lastWarn time.Time // rate limit of the refusal warning
	refused  int       // refusals not logged since lastWarn
}

// New returns a door with cfg's caps and deadlines; log is the listener's.
func New(cfg Config, log *slog.Logger) *Door {
	ctx, cancel := context.WithCancel(context.Background())
	return &Door{
		cfg:    cfg.WithDefaults(),
		log:    log,
		base:   time.Now(),
		ctx:    ctx,
		cancel: cancel,
		conns:  map[*Conn]struct{}{},
		perIP:  map[netip.Addr]int{},
	}
}

// Config returns the door's configuration, defaults applied.
func (d *Door) Config() Config { return d.cfg }

// Context is cancelled when the door closes.
func (d *Door) Context() context.Context { return d.ctx }

// Closed reports whether Close was called.
func (d *Door) Closed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Len returns the number of registered connections.
func (d *Door) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// Admit registers a connection from remote and starts its handshake
// deadline. It fails with ErrFull (wrapped, with the cap that was hit) when
// a cap is reached, and with ingest.ErrServerClosed after Close.
func (d *Door) Admit(remote net.Addr) (*Conn, error) {
	key := clientKey(remote)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, ingest.ErrServerClosed
	}
	var err error
	switch {
	case len(d.conns) >= d.cfg.MaxConns:
		err = fmt.Errorf("%w (max %d)", ErrFull, d.cfg.MaxConns)
	case d.perIP[key] >= d.cfg.MaxConnsPerIP:
		err = fmt.Errorf("%w from %s (max %d per address)", ErrFull, key, d.cfg.MaxConnsPerIP)
	}
	if err != nil {
		warn, suppressed := d.refusedLocked()
		d.mu.Unlock()
		if warn {
			d.log.Warn("refused connection", "remote", addrString(remote), "reason", err, "refused_since_last_warning", suppressed)
		}
		return nil, err
	}
	c := newConn(d, key)
	d.conns[c] = struct{}{}
	d.perIP[key]++
	d.mu.Unlock()
	return c, nil
}

// refusedLocked counts a refusal and says whether to log it: at most once a
// second, so a flood does not flood the log; suppressed is how many were not
// logged since the last warning.
func (d *Door) refusedLocked() (warn bool, suppressed int) {
	if time.Since(d.lastWarn) < time.Second {
		d.refused++
		return false, 0
	}
	suppressed, d.refused, d.lastWarn = d.refused, 0, time.Now()
	return true, suppressed
}

func (d *Door) release(c *Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.conns[c]; !ok {
		return
	}
	delete(d.conns, c)
	if d.perIP[c.key]--; d.perIP[c.key] <= 0 {
		delete(d.perIP, c.key)
	}
}

// Go runs fn in a goroutine that Close waits for. It returns false, without
// running fn, once the door is closed.
func (d *Door) Go(fn func()) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		fn()
	}()
	return true
}

// onClose registers fn (closing a listener) to run at Close; after Close it
// runs fn at once and returns ingest.ErrServerClosed.
func (d *Door) onClose(fn func()) error {
	d.mu.Lock()
	if !d.closed {
		d.closers = append(d.closers, fn)
		d.mu.Unlock()
		return nil
	}
	d.mu.Unlock()
	fn()
	return ingest.ErrServerClosed
}

// Close closes the listeners, cuts every connection with
// ingest.ErrServerClosed and waits for every goroutine started with Go. It
// is idempotent.
func (d *Door) Close() {
	d.mu.Lock()
	var closers []func()
	var conns []*Conn
	if !d.closed {
		d.closed = true
		d.cancel()
		closers = d.closers
		conns = slices.Collect(maps.Keys(d.conns))
	}
	d.mu.Unlock()
	for _, fn := range closers {
		fn()
	}
	for _, c := range conns {
		c.Cut(ingest.ErrServerClosed)
	}
	d.wg.Wait()
}

// clientKey is the address a per-IP cap counts against: the IP itself, or
// its /64 for IPv6 (one host usually holds a whole /64).
func clientKey(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if a != nil {
			if ap, err := netip.ParseAddrPort(a.String()); err == nil {
				ip = ap.Addr()
			}
		}
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
