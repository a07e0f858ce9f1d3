package app

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// resolveNodeID returns the configured node id or, by default, the host
// name made safe for one (its first label's letters, digits, '.', '_', '-').
func resolveNodeID(configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "", fmt.Errorf("no --node-id given and the host name is unknown (%v): set --node-id", err)
	}
	id := unsafeNodeChars.ReplaceAllString(host, "-")
	id = strings.TrimLeft(id, "-._")
	if len(id) > 63 {
		id = id[:63]
	}
	if id == "" {
		return "", fmt.Errorf("the host name %q does not make a node id: set --node-id", host)
	}
	return id, nil
}

var unsafeNodeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// checkTopology refuses combinations that cannot work: a process with only
// some roles relies on others sharing its catalog, which SQLite cannot be;
// and nodes sharing a PostgreSQL catalog must share one admin token, which
// each would otherwise generate for itself.
func checkTopology(cfg config.Config) error {
	roles, _ := config.ParseRoles(cfg.Roles) // validated
	if len(roles) < len(config.AllRoles) && cfg.CatalogKind() == config.CatalogSQLite {
		return fmt.Errorf("roles %q: a process with only some roles needs a catalog the other processes share: set --catalog postgres://… (and --storage s3://…, --events nats://…); with SQLite, run every role in one process (--roles all)", cfg.Roles)
	}
	if cfg.CatalogKind() == config.CatalogPostgres && cfg.AdminToken == "" {
		return fmt.Errorf("a PostgreSQL catalog is shared by the nodes of a cluster: set OSPREY_ADMIN_TOKEN to the same secret (16 or more random characters) on every node")
	}
	return nil
}

// storeWhere names a store for logs.
func storeWhere(s storage.Store) string {
	if w, ok := s.(interface{ Where() string }); ok {
		return w.Where()
	}
	return fmt.Sprintf("%T", s)
}

func eventsKind(cfg config.Config) string {
	if cfg.Events == "" {
		return "in-process"
	}
	return "NATS at " + natsbus.Redact(cfg.Events)
}

// continueGrace maps live.continue_grace onto the packager's setting, where
// 0 means the default and a negative value turns continuation off.
func continueGrace(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
