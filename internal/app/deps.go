package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/postgres"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/health"
	"github.com/ospreyvideo/osprey/internal/jobs"
	"github.com/ospreyvideo/osprey/internal/lease"
	leasepg "github.com/ospreyvideo/osprey/internal/lease/postgres"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/storeurl"
)

// deps are the shared parts a node stands on: storage, the catalog (with
// its job queue's database), events and leases. With the defaults they are
// a folder, SQLite and in-process implementations in the data folder; with
// --storage, --catalog and --events they are S3, PostgreSQL and NATS, shared
// by every node of a cluster.
type deps struct {
	nodeID string
	store  storage.Store
	cat    catalog.Store
	bus    events.Bus
	leaser lease.Leaser
	// sqliteCat and pgCat: exactly one is set, for the job queue.
	sqliteCat *sqlite.Store
	pgCat     *postgres.Store
	// checks are the readiness probes of the dependencies, each with the
	// roles that need it (see readiness).
	checks  []roleCheck
	closers []func() error
}

// depError is a dependency that could not be opened at start: its message
// names the dependency and its address, so that `osprey serve` exits with
// a line a person can act on.
func depError(name, addr string, err error) error {
	return fmt.Errorf("%s (%s) unavailable: %w", name, addr, err)
}

// openDeps opens storage, the catalog, events and leases for cfg. On error
// whatever was opened is closed again.
func openDeps(ctx context.Context, cfg config.Config, nodeID string, log *slog.Logger) (_ *deps, err error) {
	d := &deps{nodeID: nodeID}
	defer func() {
		if err != nil {
			d.close()
		}
	}()

	// Storage.
	storeURL := cfg.StorageURL()
	spec, err := storeurl.Parse(storeURL)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	d.store, err = storeurl.Open(ctx, storeURL, log)
	if err != nil {
		return nil, depError("storage", spec.String(), err)
	}
	if p, ok := d.store.(interface {
		Ping(context.Context) error
		Where() string
	}); ok {
		d.checks = append(d.checks, roleCheck{health.Check{Name: "storage", Addr: p.Where(), Ping: p.Ping}, config.AllRoles})
	}

	// Catalog.
	switch cfg.CatalogKind() {
	case config.CatalogPostgres:
		pg, err := postgres.Open(ctx, cfg.Catalog, log)
		if err != nil {
			return nil, depError("catalog", "PostgreSQL", err)
		}
		d.pgCat, d.cat = pg, pg
		d.closers = append(d.closers, pg.Close)
		d.checks = append(d.checks, roleCheck{health.Check{Name: "catalog", Addr: "PostgreSQL at " + pg.Addr(), Ping: pg.Ping}, catalogRoles})
		l, err := leasepg.New(ctx, pg.Pool(), nodeID, log)
		if err != nil {
			return nil, depError("catalog", "PostgreSQL at "+pg.Addr(), fmt.Errorf("opening leases: %w", err))
		}
		d.leaser = l
	default:
		path := cfg.SQLitePath()
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, depError("catalog", "SQLite "+path, err)
			}
		}
		sq, err := sqlite.Open(ctx, path, log)
		if err != nil {
			return nil, depError("catalog", "SQLite "+path, err)
		}
		d.sqliteCat, d.cat = sq, sq
		d.closers = append(d.closers, sq.Close)
		d.checks = append(d.checks, roleCheck{health.Check{Name: "catalog", Addr: "SQLite " + path, Ping: sq.Ping}, catalogRoles})
		d.leaser = lease.NewLocal()
	}
	// Leases close before the catalog's pool they stand on.
	d.closers = append(d.closers, d.leaser.Close)

	// Events.
	if cfg.Events == "" {
		local := events.NewLocal(log)
		d.bus = local
		d.closers = append(d.closers, local.Close)
	} else {
		b, err := natsbus.Open(ctx, cfg.Events, natsbus.Options{NodeID: nodeID}, log)
		if err != nil {
			return nil, depError("events", "NATS", err)
		}
		d.bus = b
		d.closers = append(d.closers, b.Close)
		d.checks = append(d.checks, roleCheck{health.Check{Name: "events", Addr: "NATS at " + natsbus.Redact(cfg.Events), Ping: b.Ping}, eventsRoles})
	}
	return d, nil
}

// roleCheck is a readiness check and the roles that need its dependency.
type roleCheck struct {
	check health.Check
	roles []string
}

// Which roles need which dependency to serve. Storage: every role. The
// catalog: ingest (stream keys), api, worker; not origin, which serves
// media from storage alone. Events: ingest (deletions and disconnects
// asked on other nodes must reach its publishers) and api (its actions
// must reach the other nodes); an origin or a worker serves on without
// them, so a NATS outage does not take them out of rotation.
var (
	catalogRoles = []string{config.RoleIngest, config.RoleAPI, config.RoleWorker}
	eventsRoles  = []string{config.RoleIngest, config.RoleAPI}
)

// readiness returns the checks this node's roles need.
func (d *deps) readiness(cfg config.Config) []health.Check {
	var out []health.Check
	for _, rc := range d.checks {
		if slices.ContainsFunc(rc.roles, cfg.HasRole) {
			out = append(out, rc.check)
		}
	}
	return out
}

// openQueue opens the job queue on the catalog's database.
func (d *deps) openQueue(ctx context.Context, cfg jobs.Config, log *slog.Logger) (*jobs.Queue, error) {
	cfg.NodeID = d.nodeID
	if d.pgCat != nil {
		return jobs.OpenPostgres(ctx, d.pgCat.Pool(), cfg, d.leaser, log)
	}
	return jobs.OpenSQLite(ctx, d.sqliteCat.DB(), cfg, log)
}

// close closes what openDeps opened, last opened first.
func (d *deps) close() {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	d.closers = nil
	_ = errors.Join(errs...)
}
