package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
