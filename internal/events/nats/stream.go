package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ospreyvideo/osprey/internal/events"
)

// StreamTimeout bounds creating or updating the stream at Open: a
// replicated stream waits for its Raft group to elect a leader.
const StreamTimeout = 10 * time.Second

// JetStream API error codes Open explains (nats-server's errors.json).
const (
	errCodeInsufficientResources = 10023 // not enough JetStream servers for the replicas
	errCodeReplicasNotUpdatable  = 10061 // an older server cannot change an existing stream's replicas
	errCodeReplicasNotSupported  = 10074 // replicas > 1 on a server that is not in a JetStream cluster
	errCodeSubjectOverlap        = 10065 // another stream already carries the subjects
)

// createStream creates the stream, or updates an existing one. An
// existing stream keeps its replica count unless Options.Replicas asks
// for more: nodes of one deployment that give no or a lower replicas= (an
// edge, a node not yet restarted in a rolling change) never shrink it,
// and a shrink is an operator's explicit act (nats stream edit). An
// existing stream with other subjects belongs to another deployment: Open
// fails rather than take it over.
func (b *Bus) createStream(ctx context.Context, addr string) error {
	o := b.opts
	ctx, cancel := context.WithTimeout(ctx, max(o.ConnectTimeout, StreamTimeout))
	defer cancel()
	cfg := jetstream.StreamConfig{
		Name:       o.Stream,
		Subjects:   []string{b.wire(events.All)},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     o.Retention,
		Duplicates: min(2*time.Minute, o.Retention),
		Replicas:   max(o.Replicas, 1),
	}
	var stream jetstream.Stream
	existing, err := b.js.Stream(ctx, o.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		stream, err = b.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another node created it just now
			existing, err = b.js.Stream(ctx, o.Stream)
			if err == nil {
				stream, err = b.updateStream(ctx, existing, cfg, addr)
			}
		}
	case err == nil:
		stream, err = b.updateStream(ctx, existing, cfg, addr)
	}
	if err != nil {
		return b.streamError(err, cfg.Replicas, addr)
	}
	b.replicas = stream.CachedInfo().Config.Replicas
	b.waitStreamPeers(ctx, stream)
	return nil
}

// updateStream brings an existing stream to cfg, keeping a higher replica
// count and refusing a stream of other subjects.
func (b *Bus) updateStream(ctx context.Context, existing jetstream.Stream, cfg jetstream.StreamConfig, addr string) (jetstream.Stream, error) {
	cur := existing.CachedInfo().Config
	if !slices.Equal(cur.Subjects, cfg.Subjects) {
		return nil, fmt.Errorf("stream %s at %s already carries subjects %v, this node uses %v: "+
			"another deployment owns it; give each deployment its own stream= and subject_prefix=, or the same pair on every node",
			cfg.Name, addr, cur.Subjects, cfg.Subjects)
	}
	if cur.Replicas > cfg.Replicas {
		if b.opts.Replicas > 0 {
			b.log.Warn("stream has more replicas than asked for; keeping them (lower them with nats stream edit)",
				"stream", cfg.Name, "replicas", cur.Replicas, "asked", b.opts.Replicas)
		}
		cfg.Replicas = cur.Replicas
	}
	return b.js.UpdateStream(ctx, cfg)
}

// streamError explains the JetStream errors an operator can act on.
func (b *Bus) streamError(err error, replicas int, addr string) error {
	hint := "is JetStream enabled, -js?"
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		hint = "JetStream refused it"
		switch apiErr.ErrorCode {
		case errCodeSubjectOverlap:
			hint = fmt.Sprintf("another stream already carries %s: give each deployment its own subject_prefix=", b.wire(events.All))
		case errCodeReplicasNotSupported:
			hint = fmt.Sprintf("replicas=%d needs a JetStream cluster of at least %d servers; this server is not clustered: use replicas=1 or cluster the servers", replicas, replicas)
		case errCodeInsufficientResources:
			hint = fmt.Sprintf("replicas=%d needs at least %d JetStream servers up in the cluster", replicas, replicas)
		case errCodeReplicasNotUpdatable:
			hint = fmt.Sprintf("this NATS server cannot change the replica count of the existing stream %s: keep its count, or recreate it", b.opts.Stream)
		}
	} else if errors.Is(err, context.DeadlineExceeded) {
		hint = "no answer from JetStream in time: is JetStream enabled (-js), and does the cluster have a meta leader?"
	}
	return fmt.Errorf("creating JetStream stream %s (replicas %d) at %s (%s): %w", b.opts.Stream, replicas, addr, hint, err)
}

// waitStreamPeers waits until a replicated stream has a leader and all its
// followers current: right after a create or a change of replicas the
// stream briefly answers no publish. A stream still settling when ctx ends
// is logged; Publish errors until it settles.
func (b *Bus) waitStreamPeers(ctx context.Context, stream jetstream.Stream) {
	n := b.replicas
	if n <= 1 {
		return
	}
	var state string
	for {
		info, err := stream.Info(ctx)
		switch {
		case err != nil:
			state = err.Error()
		case info.Cluster == nil || info.Cluster.Leader == "":
			state = "no leader"
		default:
			current := 0
			for _, p := range info.Cluster.Replicas {
				if p.Current && !p.Offline {
					current++
				}
			}
			if current >= n-1 {
				return
			}
			state = fmt.Sprintf("leader %s, %d of %d followers current", info.Cluster.Leader, current, n-1)
		}
		select {
		case <-ctx.Done():
			b.log.Warn("stream not settled yet; publishing may fail until it is", "stream", b.opts.Stream, "replicas", n, "state", state)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
