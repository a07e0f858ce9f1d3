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
		{"redis events", func(c *Config) { c.Events = "redis://:hunter2@r:6379" }, "events: server 1: want nats://"},
		{"nats cluster options", func(c *Config) {
			c.Events = "nats://u:hunter2@a:4222?stream=OSPREY_PROD&subject_prefix=prod&replicas=3,nats://b:4222,nats://c:4222"
		}, ""},
		{"nats replicas", func(c *Config) { c.Events = "nats://u:hunter2@a:4222?replicas=7" }, "events: events URL option replicas"},
		{"nats stream", func(c *Config) { c.Events = "nats://a:4222?stream=osprey.prod" }, "events: events URL option stream"},
		{"nats prefix", func(c *Config) { c.Events = "nats://a:4222?subject_prefix=p.>" }, "events: events URL option subject_prefix"},
		{"nats unknown option", func(c *Config) { c.Events = "nats://a:4222?token=hunter2" }, `events: unknown events URL option "token"`},
		{"nats conflicting options", func(c *Config) { c.Events = "nats://a:4222?stream=A,nats://b:4222?stream=B" }, "events: events URL option stream conflicts"},
		{"roles", func(c *Config) { c.Roles = "origin,api" }, ""},
		{"bad role", func(c *Config) { c.Roles = "transcoder" }, `roles: unknown role "transcoder"`},
		{"node id", func(c *Config) { c.NodeID = "ingest-a.zone1" }, ""},
		{"bad node id", func(c *Config) { c.NodeID = "node a" }, "node_id: "},
		{"advertise url", func(c *Config) { c.AdvertiseURL = "http://10.0.0.5:8080" }, ""},
		{"advertise url with a path", func(c *Config) { c.AdvertiseURL = "http://10.0.0.5:8080/osprey" }, "advertise_url: "},
		{"advertise url not http", func(c *Config) { c.AdvertiseURL = "10.0.0.5:8080" }, "advertise_url: "},
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

// osprey edge validates the events URL options as serve does (the same
// parser as the NATS bus).
func TestEdgeEventsURLOptions(t *testing.T) {
	for _, c := range []struct {
		events string
		err    string // "" = valid
	}{
		{"nats://a:4222?stream=OSPREY_EU&subject_prefix=eu&replicas=3,nats://b:4222,nats://c:4222", ""},
		{"nats://a:4222?replicas=0", "events: events URL option replicas"},
		{"nats://a:4222?stream=a%20b", "events: events URL option stream"},
		{"nats://a:4222?subject_prefix=*", "events: events URL option subject_prefix"},
		{"nats://a:4222?retention=1h", `events: unknown events URL option "retention"`},
	} {
		e := DefaultEdge()
		e.Origins = []string{"http://origin.example.com"}
		e.Events = c.events
		errs := e.Validate("", true)
		if c.err == "" {
			if len(errs) > 0 {
				t.Errorf("events %q: %v", c.events, errs)
			}
			continue
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.err) {
			t.Errorf("events %q: errors %v, want one containing %q", c.events, errs, c.err)
		}
	}
}
