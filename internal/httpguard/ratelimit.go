package httpguard

import (
	"encoding/binary"
	"math"
	"net/netip"
	"sync"
	"time"
)

const limiterShards = 64

// Limiter is a token bucket per client address: each client may make Burst
// requests at once and Rate per second on average. It is sharded by
// address, allocates nothing on Allow for a known client, and holds at most
// MaxClients entries: entries whose bucket has refilled are dropped by
// Sweep, and a full shard drops a random entry for a new one (which can
// only give that client a fresh burst).
type Limiter struct {
	perNano  float64 // tokens per nanosecond
	burst    float64
	fullNano int64 // time for an empty bucket to refill
	maxShard int
	epoch    time.Time
	shards   [limiterShards]limiterShard
}

type limiterShard struct {
	mu sync.Mutex
	m  map[netip.Addr]bucket
	_  [40]byte // keep shards on separate cache lines
}

type bucket struct {
	tokens float64
	last   int64 // nanoseconds since the limiter's epoch
}

// NewLimiter returns a limiter of rate requests per second with bursts of
// burst, tracking up to maxClients addresses. rate must be positive.
func NewLimiter(rate float64, burst, maxClients int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	l := &Limiter{
		perNano:  rate / 1e9,
		burst:    float64(burst),
		fullNano: int64(math.Ceil(float64(burst) / rate * 1e9)),
		maxShard: max(1, (maxClients+limiterShards-1)/limiterShards),
		epoch:    time.Now(),
	}
	for i := range l.shards {
		l.shards[i].m = make(map[netip.Addr]bucket)
	}
	return l
}

// Allow takes a token for the client at addr (see bucketKey) at time now.
// When there is none, it reports false and how long until there is one.
func (l *Limiter) Allow(addr netip.Addr, now time.Time) (bool, time.Duration) {
	key := bucketKey(addr)
	t := int64(now.Sub(l.epoch))
	s := &l.shards[shardOf(key)]
	s.mu.Lock()
	b, ok := s.m[key]
	if !ok {
		if len(s.m) >= l.maxShard {
			for k := range s.m { // map order is random enough
				delete(s.m, k)
				break
			}
		}
		b = bucket{tokens: l.burst, last: t}
	} else if t > b.last {
		b.tokens = min(l.burst, b.tokens+float64(t-b.last)*l.perNano)
		b.last = t
	}
	if b.tokens >= 1 {
		b.tokens--
		s.m[key] = b
		s.mu.Unlock()
		return true, 0
	}
	s.m[key] = b
	s.mu.Unlock()
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.perNano))
	return false, wait
}

// Sweep forgets the clients whose bucket is full again at now: they are as
// good as new. It returns how many remain.
func (l *Limiter) Sweep(now time.Time) int {
	t := int64(now.Sub(l.epoch))
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for k, b := range s.m {
			if t-b.last >= l.fullNano {
				delete(s.m, k)
			}
		}
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func shardOf(a netip.Addr) int {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[:8])*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(b[8:])*0xC2B2AE3D27D4EB4F
	return int(h >> 58) // 64 shards
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1, for
// the Retry-After header.
func retryAfterSeconds(wait time.Duration) int64 {
	s := int64((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}
