package config

import (
	"slices"
	"strings"
	"testing"
)

func TestParseRoles(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"ingest,origin,api,worker", AllRoles, ""},
		{"all", AllRoles, ""},
		{" worker , ingest ", []string{"ingest", "worker"}, ""},
		{"origin,api,origin", []string{"origin", "api"}, ""},
		{"API", []string{"api"}, ""},
		{"", nil, "no role given"},
		{",", nil, "no role given"},
		{"ingest,edge", nil, `unknown role "edge"`},
	}
	for _, tt := range tests {
		got, err := ParseRoles(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRoles(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseRoles(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// Each cluster setting is validated with its key, and no error repeats a
// catalog or events URL (they can carry passwords).
func TestValidateCluster(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Config)
		err  string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"s3 storage", func(c *Config) { c.Storage = "s3://media/osprey?endpoint=http://127.0.0.1:7070&path_style=true" }, ""},
		{"bad storage", func(c *Config) { c.Storage = "gs://bucket" }, "storage: "},
		{"postgres", func(c *Config) { c.Catalog = "postgres://osprey:hunter2@db:5432/osprey?sslmode=disable" }, ""},
		{"sqlite path", func(c *Config) { c.Catalog = "sqlite:/var/lib/osprey/osprey.db" }, ""},
		{"empty sqlite", func(c *Config) { c.Catalog = "sqlite:" }, "catalog: sqlite: needs a file path"},
		{"mysql", func(c *Config) { c.Catalog = "mysql://root:hunter2@db/osprey" }, "catalog: want sqlite:PATH or postgres://"},
		{"postgres without host", func(c *Config) { c.Catalog = "postgres:///osprey?password=hunter2" }, "catalog: the postgres:// URL has no host"},
		{"nats", func(c *Config) { c.Events = "nats://127.0.0.1:4222" }, ""},
		{"nats list", func(c *Config) { c.Events = "nats://a:4222,nats://b:4222" }, ""},
		{"redis events", func(c *Config) { c.Events = "redis://:hunter2@r:6379" }, "events: want nats://"},
		{"roles", func(c *Config) { c.Roles = "origin,api" }, ""},
		{"bad role", func(c *Config) { c.Roles = "transcoder" }, `roles: unknown role "transcoder"`},
		{"node id", func(c *Config) { c.NodeID = "ingest-a.zone1" }, ""},
		{"bad node id", func(c *Config) { c.NodeID = "node a" }, "node_id: "},
		{"ingest urls", func(c *Config) {
			c.Ingest.RTMPURL = "rtmp://ingest.example.com:1935/live"
			c.Ingest.SRTURL = "srt://ingest.example.com:9000"
		}, ""},
		{"rtmp url scheme", func(c *Config) { c.Ingest.RTMPURL = "http://ingest.example.com" }, "ingest.rtmp_url: "},
		{"srt url query", func(c *Config) { c.Ingest.SRTURL = "srt://ingest.example.com:9000?streamid=x" }, "ingest.srt_url: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.set(&c)
			err := c.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Validate = %v, want %q", err, tt.err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error repeats a password: %v", err)
			}
		})
	}
}

func TestClusterDefaults(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/osprey/"
	if got := c.StorageURL(); got != "file:/srv/osprey/media" {
		t.Errorf("StorageURL = %q", got)
	}
	if got := c.SQLitePath(); got != "/srv/osprey/osprey.db" {
		t.Errorf("SQLitePath = %q", got)
	}
	if c.CatalogKind() != CatalogSQLite {
		t.Errorf("CatalogKind = %q", c.CatalogKind())
	}
	for _, r := range AllRoles {
		if !c.HasRole(r) {
			t.Errorf("default roles lack %s", r)
		}
	}
	c.Catalog = "postgresql://db/osprey"
	c.Roles = "worker"
	if c.CatalogKind() != CatalogPostgres || c.HasRole(RoleAPI) || !c.HasRole(RoleWorker) {
		t.Errorf("kind %q, roles %q", c.CatalogKind(), c.Roles)
	}
}
