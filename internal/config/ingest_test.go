package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIngestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(x *Ingest)
		want   string // substring of the error; "" means valid
	}{
		{"defaults", func(x *Ingest) {}, ""},
		{"per ip equals total", func(x *Ingest) { x.MaxConnections, x.MaxConnectionsPerIP = 4, 4 }, ""},
		{"timeout bounds", func(x *Ingest) { x.HandshakeTimeout, x.IdleTimeout = time.Second, 10*time.Minute }, ""},

		{"no connections", func(x *Ingest) { x.MaxConnections = 0 }, "ingest.max_connections: must be between 1 and 1000000, got 0"},
		{"per ip zero", func(x *Ingest) { x.MaxConnectionsPerIP = 0 }, "ingest.max_connections_per_ip: must be between 1 and ingest.max_connections (1000), got 0"},
		{"per ip above total", func(x *Ingest) { x.MaxConnections, x.MaxConnectionsPerIP = 8, 9 }, "ingest.max_connections_per_ip"},
		{"handshake too short", func(x *Ingest) { x.HandshakeTimeout = 500 * time.Millisecond }, "ingest.handshake_timeout: must be between 1s and 10m0s, got 500ms"},
		{"idle unset", func(x *Ingest) { x.IdleTimeout = 0 }, "ingest.idle_timeout: must be between 1s and 10m0s, got 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.modify(&c.Ingest)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("no error, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestIngestFromFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	const doc = "ingest:\n  max_connections: 50\n  max_connections_per_ip: 2\n  handshake_timeout: 3s\n  idle_timeout: 30s\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Ingest{MaxConnections: 50, MaxConnectionsPerIP: 2, HandshakeTimeout: 3 * time.Second, IdleTimeout: 30 * time.Second}
	if cfg.Ingest != want {
		t.Errorf("ingest = %+v, want %+v", cfg.Ingest, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
