// Package nats is the events.Bus on NATS JetStream, for several nodes.
//
// One stream (default "OSPREY", subjects "osprey.>", file storage, MaxAge =
// Retention, a duplicate window on Nats-Msg-Id, Replicas copies on a
// JetStream cluster) is created or updated at Open. The server URL may set
// the stream, a subject prefix and the replica count as query options
// (package natsurl): nats://a:4222?stream=OSPREY_PROD&replicas=3,nats://b:4222.
// Open raises an existing stream's replica count but never lowers it, and
// refuses a stream that carries other subjects (another deployment's).
// Consumers have as many replicas as the stream, so a subscription lives
// through the loss of any one server of a replicas=3 stream.
//
// Every Subscribe creates its own pull consumer with explicit acks and
// MaxAckPending 1, so events reach a handler one at a time in stream order;
// a failed handler Naks with events.Backoff delay and the event is retried
// without limit (MaxDeliver -1) until it succeeds or ages out of the stream.
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/events/nats/natsurl"
)

// Defaults for Options.
const (
	DefaultStream         = "OSPREY"
	DefaultRetention      = 24 * time.Hour
	DefaultConnectTimeout = 3 * time.Second
	// DefaultPublishTimeout bounds Publish when ctx has no deadline.
	DefaultPublishTimeout = 5 * time.Second
	// AckWait is how long the server waits for an ack before redelivering;
	// a running handler extends it every AckWait/3.
	AckWait = 5 * time.Second

	timeHeader = "Osprey-Time"
)

// Options configures Open.
type Options struct {
	NodeID         string        // names the connection and labels logs
	Retention      time.Duration // how long events are kept (stream MaxAge); default 24 h
	Stream         string        // JetStream stream name; default "OSPREY"
	SubjectPrefix  string        // prepended to subjects on the wire ("p" → "p.osprey.>"); for tests and shared servers
	Replicas       int           // copies of the stream on a JetStream cluster, 1..5; 0 = 1 for a new stream, unchanged for an existing one
	ConnectTimeout time.Duration // default 3 s
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	return o
}

// fromURL merges the options of an events URL into o; an option set both
// in o and in the URL must agree.
func (o Options) fromURL(spec natsurl.Spec) (Options, error) {
	merge := func(key string, dst *string, v string) error {
		if v != "" && *dst != "" && *dst != v {
			return fmt.Errorf("events URL option %s=%q conflicts with %q set by the program", key, v, *dst)
		}
		if v != "" {
			*dst = v
		}
		return nil
	}
	if err := merge(natsurl.KeyStream, &o.Stream, spec.Stream); err != nil {
		return o, err
	}
	if err := merge(natsurl.KeySubjectPrefix, &o.SubjectPrefix, spec.SubjectPrefix); err != nil {
		return o, err
	}
	if spec.Replicas != 0 && o.Replicas != 0 && o.Replicas != spec.Replicas {
		return o, fmt.Errorf("events URL option %s=%d conflicts with %d set by the program", natsurl.KeyReplicas, spec.Replicas, o.Replicas)
	}
	if spec.Replicas != 0 {
		o.Replicas = spec.Replicas
	}
	if o.Stream != "" {
		if err := natsurl.CheckStream(o.Stream); err != nil {
			return o, fmt.Errorf("stream name: %w", err)
		}
	}
	if o.SubjectPrefix != "" {
		if err := natsurl.CheckSubjectPrefix(o.SubjectPrefix); err != nil {
			return o, fmt.Errorf("subject prefix: %w", err)
		}
	}
	if o.Replicas < 0 || o.Replicas > natsurl.MaxReplicas {
		return o, fmt.Errorf("replicas: %d is not from 1 to %d", o.Replicas, natsurl.MaxReplicas)
	}
	return o, nil
}

// Bus is an events.Bus on NATS JetStream.
type Bus struct {
	log  *slog.Logger
	opts Options
	// replicas is the stream's replica count after Open; ephemeral
	// consumers get as many.
	replicas int
	nc       *gonats.Conn
	js       jetstream.JetStream

	mu       sync.Mutex
	closed   bool
	subs     map[*sub]struct{}
	inflight map[*func()]struct{} // Publish calls to cancel on disconnect
}

var _ events.Bus = (*Bus)(nil)

// Open connects to the NATS server(s) at serverURL (comma-separated list
// allowed) and creates or updates the stream. It fails within
// ConnectTimeout when no server answers. After Open, the connection
// reconnects forever; subscriptions resume by themselves.
func Open(ctx context.Context, serverURL string, opts Options, log *slog.Logger) (*Bus, error) {
	spec, err := natsurl.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("opening NATS events: %w", err)
	}
	if opts, err = opts.fromURL(spec); err != nil {
		return nil, fmt.Errorf("opening NATS events: %w", err)
	}
	opts = opts.withDefaults()
	log = log.With("component", "events.nats", "node", opts.NodeID)
	addr := Redact(spec.Servers)
	b := &Bus{log: log, opts: opts, subs: map[*sub]struct{}{}, inflight: map[*func()]struct{}{}}
	nc, err := gonats.Connect(spec.Servers,
		gonats.Name("osprey "+opts.NodeID),
		gonats.Timeout(opts.ConnectTimeout),
		gonats.MaxReconnects(-1),
		gonats.ReconnectWait(500*time.Millisecond),
		gonats.ReconnectBufSize(-1), // Publish fails at once while disconnected
		gonats.DisconnectErrHandler(func(_ *gonats.Conn, err error) {
			if b.isClosed() {
				return
			}
			log.Warn("disconnected from NATS", "addr", addr, "err", err)
			b.cancelInflight()
		}),
		gonats.ReconnectHandler(func(c *gonats.Conn) {
			log.Info("reconnected to NATS", "addr", Redact(c.ConnectedUrl()))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", addr, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("opening JetStream at %s: %w", addr, err)
	}
	b.nc, b.js = nc, js
	if err := b.createStream(ctx, addr); err != nil {
		nc.Close()
		return nil, err
	}
	log.Info("events on NATS JetStream", "addr", addr, "stream", opts.Stream,
		"subjects", b.wire(events.All), "replicas", b.replicas)
	return b, nil
}

// Publish stores the event in the stream and waits for the JetStream ack.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte) error {
	if err := events.ValidateSubject(subject); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := func() { cancel(errDisconnected) }
	if err := b.track(&stop); err != nil {
		return fmt.Errorf("publishing %s: %w", subject, err)
	}
	defer b.untrack(&stop)
	if !b.nc.IsConnected() { // checked after track: a disconnect from now on cancels ctx
		return fmt.Errorf("publishing %s: %w (status %v)", subject, errDisconnected, b.nc.Status())
	}
	msg := gonats.NewMsg(b.wire(subject))
	msg.Data = data
	msg.Header.Set(timeHeader, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(events.NewID()), jetstream.WithExpectStream(b.opts.Stream)); err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
		return fmt.Errorf("publishing %s: %w", subject, err)
	}
	return nil
}

var errDisconnected = errors.New("NATS not connected")

// track registers a Publish in flight, so that a disconnect fails it at
// once instead of waiting for an ack that cannot come.
func (b *Bus) track(cancel *func()) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return events.ErrClosed
	}
	b.inflight[cancel] = struct{}{}
	return nil
}

func (b *Bus) untrack(cancel *func()) {
	b.mu.Lock()
	delete(b.inflight, cancel)
	b.mu.Unlock()
}

func (b *Bus) cancelInflight() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.inflight {
		(*c)()
	}
}

// Close stops every subscription, waits for running handlers and closes
// the connection. Idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*sub, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		_ = s.Stop()
	}
	b.nc.Close()
	return nil
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *Bus) wire(subject string) string {
	if b.opts.SubjectPrefix == "" {
		return subject
	}
	return b.opts.SubjectPrefix + "." + subject
}

func (b *Bus) unwire(subject string) string {
	if b.opts.SubjectPrefix == "" {
		return subject
	}
	return strings.TrimPrefix(subject, b.opts.SubjectPrefix+".")
}

// Redact hides passwords in a (comma-separated) server URL, for messages.
func Redact(servers string) string {
	parts := strings.Split(servers, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
