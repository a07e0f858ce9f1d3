package cache

import (
	"testing"
	"time"
)

func TestTierString(t *testing.T) {
	for tier, want := range map[Tier]string{TierMemory: "memory", TierDisk: "disk", 7: "Tier(7)"} {
		if got := tier.String(); got != want {
			t.Errorf("Tier(%d).String() = %q, want %q", int(tier), got, want)
		}
	}
}

func TestMetaArithmetic(t *testing.T) {
	stored := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		meta       Meta
		now        time.Time
		age, ttl   time.Duration
		keep       time.Duration
		expiresOff time.Duration // expires() - Stored
	}{
		{
			name: "fresh",
			meta: Meta{Stored: stored, InitialAge: 5 * time.Second, Fresh: time.Minute},
			now:  stored.Add(10 * time.Second),
			age:  15 * time.Second, ttl: 45 * time.Second, keep: 55 * time.Second, expiresOff: 55 * time.Second,
		},
		{
			name: "stale: negative TTL",
			meta: Meta{Stored: stored, Fresh: 10 * time.Second},
			now:  stored.Add(30 * time.Second),
			age:  30 * time.Second, ttl: -20 * time.Second, keep: 10 * time.Second, expiresOff: 10 * time.Second,
		},
		{
			name: "stale-if-error wins over swr",
			meta: Meta{Stored: stored, InitialAge: 2 * time.Second, Fresh: 10 * time.Second,
				StaleWhileRevalidate: 3 * time.Second, StaleIfError: 5 * time.Second},
			now: stored,
			age: 2 * time.Second, ttl: 8 * time.Second, keep: 13 * time.Second, expiresOff: 13 * time.Second,
		},
		{
			name: "swr wins over stale-if-error",
			meta: Meta{Stored: stored, Fresh: 10 * time.Second, StaleWhileRevalidate: time.Hour, StaleIfError: time.Minute},
			now:  stored,
			age:  0, ttl: 10 * time.Second, keep: time.Hour + 10*time.Second, expiresOff: time.Hour + 10*time.Second,
		},
		{
			name: "clock before Stored: age never negative",
			meta: Meta{Stored: stored, Fresh: time.Minute},
			now:  stored.Add(-time.Hour),
			age:  0, ttl: time.Minute, keep: time.Minute, expiresOff: time.Minute,
		},
		{
			name: "arrived stale: keep at least 1s",
			meta: Meta{Stored: stored, InitialAge: time.Hour, Fresh: time.Minute},
			now:  stored,
			age:  time.Hour, ttl: time.Minute - time.Hour, keep: time.Second, expiresOff: time.Second,
		},
		{
			name: "zero lifetime: keep 1s",
			meta: Meta{Stored: stored},
			now:  stored.Add(time.Second),
			age:  time.Second, ttl: -time.Second, keep: time.Second, expiresOff: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.meta.Age(tt.now); got != tt.age {
				t.Errorf("Age = %v, want %v", got, tt.age)
			}
			if got := tt.meta.TTL(tt.now); got != tt.ttl {
				t.Errorf("TTL = %v, want %v", got, tt.ttl)
			}
			if got := tt.meta.Keep(); got != tt.keep {
				t.Errorf("Keep = %v, want %v", got, tt.keep)
			}
			if got := tt.meta.expires().Sub(tt.meta.Stored); got != tt.expiresOff {
				t.Errorf("expires - Stored = %v, want %v", got, tt.expiresOff)
			}
		})
	}
}
