package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEdgeEventsValidation(t *testing.T) {
	for _, c := range []struct {
		events, nodeID string
		wantKey        string // "" = valid
	}{
		{"", "", ""},
		{"nats://127.0.0.1:4222", "edge-1", ""},
		{"nats://a:4222,nats://b:4222", "", ""},
		{"tls://nats.example.com:4222", "", ""},
		{"nats://u:pw@nats.example.com:4222", "", ""},
		{"http://127.0.0.1:4222", "", "events"},
		{"127.0.0.1:4222", "", "events"},
		{"nats://", "", "events"},
		{"nats://a:4222,", "", "events"},
		{"nats://a:4222", "edge-1.example.com", ""},
		{"nats://a:4222", "edge 1", "node_id"},
	} {
		e := DefaultEdge()
		e.Origins = []string{"http://origin.example.com"}
		e.Events, e.NodeID = c.events, c.nodeID
		errs := e.Validate("", true)
		if c.wantKey == "" {
			if len(errs) > 0 {
				t.Errorf("events %q node_id %q: %v", c.events, c.nodeID, errs)
			}
			continue
		}
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), c.wantKey+":") {
			t.Errorf("events %q node_id %q: errors %v, want one on %s", c.events, c.nodeID, errs, c.wantKey)
		}
	}
}

func TestEdgeEventsErrorHidesPassword(t *testing.T) {
	e := DefaultEdge()
	e.Origins = []string{"http://origin.example.com"}
	e.Events = "http://u:s3cret@nats.example.com:4222"
	errs := e.Validate("", true)
	if len(errs) != 1 || strings.Contains(errs[0].Error(), "s3cret") {
		t.Errorf("errors %v: want one, without the password", errs)
	}
}

func TestEdgeEventsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	doc := "edge:\n  origins: [\"http://o.example.com\"]\n  events: nats://10.0.0.5:4222\n  node_id: edge-paris-1\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadEdge(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Edge.Events != "nats://10.0.0.5:4222" || cfg.Edge.NodeID != "edge-paris-1" {
		t.Errorf("loaded events %q node_id %q", cfg.Edge.Events, cfg.Edge.NodeID)
	}
	if d := DefaultEdge(); d.Events != "" || d.NodeID != "" {
		t.Errorf("defaults: events %q node_id %q, want both empty", d.Events, d.NodeID)
	}
}

// The default cache key keeps the watch page's player choice and the
// origin's manifest filters, so that each filter is cached on its own and
// reaches the origin; a list in the file replaces it.
func TestEdgeCacheKeyQueryDefault(t *testing.T) {
	t.Parallel()
	want := []string{"player", "min_height", "max_height", "min_bitrate", "max_bitrate", "codecs", "max_fps", "aws.manifestfilter",
		"_HLS_msn", "_HLS_part", "_HLS_skip"}
	d := DefaultEdge()
	if !slices.Equal(d.CacheKeyQuery, want) {
		t.Fatalf("default cache_key_query = %q, want %q", d.CacheKeyQuery, want)
	}
	d.Origins = []string{"http://origin.example.com"}
	if errs := d.Validate("", true); len(errs) > 0 {
		t.Fatalf("defaults do not validate: %v", errs)
	}
	d.CacheKeyQuery[0] = "changed"
	if DefaultEdge().CacheKeyQuery[0] != "player" {
		t.Fatal("modifying one default changed another")
	}
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	doc := "edge:\n  origins: [\"http://o.example.com\"]\n  cache_key_query: [v]\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadEdge(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Edge.CacheKeyQuery, []string{"v"}) {
		t.Errorf("cache_key_query from the file = %q, want [v]", cfg.Edge.CacheKeyQuery)
	}
}

// The LL-HLS delivery directives are part of the default cache key, next to
// the watch page's player choice, and the defaults validate.
func TestEdgeDefaultKeyQueryHasHLSDirectives(t *testing.T) {
	d := DefaultEdge()
	for _, want := range []string{"player", "_HLS_msn", "_HLS_part", "_HLS_skip"} {
		if !slices.Contains(d.CacheKeyQuery, want) {
			t.Errorf("default cache_key_query %q lacks %q", d.CacheKeyQuery, want)
		}
	}
	d.Origins = []string{"http://origin.example.com"}
	if errs := d.Validate("", true); len(errs) > 0 {
		t.Errorf("defaults: %v", errs)
	}
}

func TestEdgeOriginHoldTimeout(t *testing.T) {
	for _, c := range []struct {
		hold time.Duration
		ok   bool
	}{
		{10 * time.Second, true},
		{time.Millisecond, true},
		{10 * time.Minute, true},
		{0, false},
		{-time.Second, false},
		{11 * time.Minute, false},
	} {
		e := DefaultEdge()
		e.OriginHoldTimeout = c.hold
		errs := e.Validate("edge.", false)
		if c.ok && len(errs) > 0 {
			t.Errorf("origin_hold_timeout %s: %v", c.hold, errs)
		}
		if !c.ok && (len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "edge.origin_hold_timeout:")) {
			t.Errorf("origin_hold_timeout %s: errors %v, want one on edge.origin_hold_timeout", c.hold, errs)
		}
	}
	if d := DefaultEdge().OriginHoldTimeout; d != 10*time.Second {
		t.Errorf("default origin_hold_timeout = %s, want 10s", d)
	}
}

func TestEdgeHoldTimeoutFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	doc := "edge:\n  origins: [\"http://o.example.com\"]\n  origin_hold_timeout: 4s\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadEdge(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Edge.OriginHoldTimeout != 4*time.Second {
		t.Errorf("loaded origin_hold_timeout %s, want 4s", cfg.Edge.OriginHoldTimeout)
	}
}
