package app

import (
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/health"
)

func TestCheckTopology(t *testing.T) {
	const pg = "postgres://osprey@db:5432/osprey"
	tests := []struct {
		name                  string
		roles, catalog, token string
		err                   string
	}{
		{"single node", config.DefaultRoles, "", "", ""},
		{"single node on sqlite path", "all", "sqlite:/srv/osprey.db", "", ""},
		{"some roles on sqlite", "origin,api", "", "", "needs a catalog the other processes share"},
		{"worker on postgres", "worker", pg, "osp_0123456789abcdef", ""},
		{"postgres without a token", config.DefaultRoles, pg, "", "set OSPREY_ADMIN_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Roles, cfg.Catalog, cfg.AdminToken = tt.roles, tt.catalog, tt.token
			err := checkTopology(cfg)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("checkTopology = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestResolveNodeID(t *testing.T) {
	if id, err := resolveNodeID("ingest-a"); err != nil || id != "ingest-a" {
		t.Fatalf("configured: %q, %v", id, err)
	}
	id, err := resolveNodeID("")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.NodeID = id
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the host name's node id %q does not validate: %v", id, err)
	}
}

// Readiness asks only for what the node's roles need: an origin keeps
// serving media from storage while the catalog or NATS is down.
func TestReadinessPerRole(t *testing.T) {
	d := &deps{checks: []roleCheck{
		{health.Check{Name: "storage"}, config.AllRoles},
		{health.Check{Name: "catalog"}, catalogRoles},
		{health.Check{Name: "events"}, eventsRoles},
	}}
	tests := map[string]string{
		"origin":                   "storage",
		"worker":                   "storage catalog",
		"ingest":                   "storage catalog events",
		"origin,api":               "storage catalog events",
		"ingest,origin,api,worker": "storage catalog events",
	}
	for roles, want := range tests {
		cfg := config.Default()
		cfg.Roles = roles
		var names []string
		for _, c := range d.readiness(cfg) {
			names = append(names, c.Name)
		}
		if got := strings.Join(names, " "); got != want {
			t.Errorf("roles %s: checks %q, want %q", roles, got, want)
		}
	}
}
