package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/ospreyvideo/osprey/internal/events/nats/natsurl"
	"github.com/ospreyvideo/osprey/internal/storage/storeurl"
)

// Roles a process can take (--roles). A process with every role is the
// single-node install; a cluster splits them over processes that share a
// PostgreSQL catalog, S3 storage and NATS events.
const (
	RoleIngest = "ingest" // RTMP/SRT listeners, live transcode and packaging
	RoleOrigin = "origin" // /live, /vod, /watch, /time
	RoleAPI    = "api"    // /api/v1: REST, uploads, inbox
	RoleWorker = "worker" // VoD jobs and webhook deliveries
)

// AllRoles lists every role, in the order they are documented.
var AllRoles = []string{RoleIngest, RoleOrigin, RoleAPI, RoleWorker}

// DefaultRoles is the value of --roles when none is given: every role.
const DefaultRoles = "ingest,origin,api,worker"

// Kinds of catalog (--catalog).
const (
	CatalogSQLite   = "sqlite"
	CatalogPostgres = "postgres"
)

// nodeIDRE is what a node id may look like: it goes into logs, job rows
// and lease names.
var nodeIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ParseRoles parses a comma-separated role list; "all" stands for every
// role. The result is in AllRoles order, without duplicates.
func ParseRoles(s string) ([]string, error) {
	seen := map[string]bool{}
	for _, r := range strings.Split(s, ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		switch {
		case r == "":
			continue
		case r == "all":
			for _, a := range AllRoles {
				seen[a] = true
			}
		case slices.Contains(AllRoles, r):
			seen[r] = true
		default:
			return nil, fmt.Errorf("unknown role %q (roles: %s, or all)", r, strings.Join(AllRoles, ", "))
		}
	}
	var roles []string
	for _, r := range AllRoles {
		if seen[r] {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("no role given (roles: %s, or all)", strings.Join(AllRoles, ", "))
	}
	return roles, nil
}

// HasRole reports whether c's roles include role. Roles are validated;
// an unparsable list has none.
func (c Config) HasRole(role string) bool {
	roles, err := ParseRoles(c.Roles)
	return err == nil && slices.Contains(roles, role)
}

// CatalogKind returns CatalogSQLite or CatalogPostgres for c.Catalog.
func (c Config) CatalogKind() string {
	if strings.HasPrefix(c.Catalog, "postgres://") || strings.HasPrefix(c.Catalog, "postgresql://") {
		return CatalogPostgres
	}
	return CatalogSQLite
}

// SQLitePath is the catalog's database file: the path of a sqlite: URL, or
// osprey.db in the data folder.
func (c Config) SQLitePath() string {
	if p, ok := strings.CutPrefix(c.Catalog, "sqlite:"); ok {
		return p
	}
	return strings.TrimRight(c.DataDir, "/") + "/osprey.db"
}

// StorageURL is the --storage URL, or the folder "media" in the data
// folder when none is set.
func (c Config) StorageURL() string {
	if c.Storage != "" {
		return c.Storage
	}
	return "file:" + strings.TrimRight(c.DataDir, "/") + "/media"
}

// validateCluster checks storage, catalog, events, roles, node_id and the
// ingest URLs.
func (c Config) validateCluster() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Storage != "" {
		if _, err := storeurl.Parse(c.Storage); err != nil {
			add("storage", "%v", err)
		}
	}
	if err := checkCatalogURL(c.Catalog); err != nil {
		add("catalog", "%v", err)
	}
	if err := CheckEventsURL(c.Events); err != nil {
		add("events", "%v", err)
	}
	if _, err := ParseRoles(c.Roles); err != nil {
		add("roles", "%v", err)
	}
	if err := checkNodeID(c.NodeID); err != nil {
		add("node_id", "%v", err)
	}
	if c.AdvertiseURL != "" {
		if u, err := url.Parse(c.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			add("advertise_url", "%q must be http(s)://HOST:PORT, without a path", c.AdvertiseURL)
		}
	}
	if c.Ingest.RTMPURL != "" {
		if err := checkIngestURL(c.Ingest.RTMPURL, "rtmp", "rtmps"); err != nil {
			add("ingest.rtmp_url", "%v", err)
		}
	}
	if c.Ingest.SRTURL != "" {
		if err := checkIngestURL(c.Ingest.SRTURL, "srt"); err != nil {
			add("ingest.srt_url", "%v", err)
		}
	}
	return errs
}

// checkNodeID accepts "" (the default: the host name) and node ids of
// serve and edge alike.
func checkNodeID(id string) error {
	if id != "" && !nodeIDRE.MatchString(id) {
		return fmt.Errorf("%q must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// checkCatalogURL accepts "", sqlite:PATH and postgres:// URLs. Errors never
// repeat the URL: it may hold a password.
func checkCatalogURL(s string) error {
	switch {
	case s == "":
		return nil
	case strings.HasPrefix(s, "sqlite:"):
		if strings.TrimPrefix(s, "sqlite:") == "" {
			return fmt.Errorf("sqlite: needs a file path, e.g. sqlite:/var/lib/osprey/osprey.db")
		}
		return nil
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("the postgres:// URL does not parse (check its escaping)")
		}
		if u.Host == "" {
			return fmt.Errorf("the postgres:// URL has no host, e.g. postgres://osprey:PASSWORD@db:5432/osprey")
		}
		return nil
	}
	return fmt.Errorf("want sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB (empty: SQLite in the data folder)")
}

// CheckEventsURL accepts "" (in-process events; for an edge: none) and
// what the NATS bus opens: nats:// or tls:// server URLs with a host,
// several separated by commas, with the query options stream,
// subject_prefix and replicas (package natsurl, the bus's own parser).
// Errors never repeat the URL.
func CheckEventsURL(s string) error {
	if s == "" {
		return nil
	}
	_, err := natsurl.Parse(s)
	return err
}

// checkIngestURL accepts a base URL such as rtmp://ingest.example.com:1935/live
// (RTMP: the stream key is appended after a slash) or
// srt://ingest.example.com:9000.
func checkIngestURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must be a %s:// URL with a host and no query, e.g. %s", s, schemes[0], ingestExample[schemes[0]])
	}
	return nil
}

var ingestExample = map[string]string{
	"rtmp": "rtmp://ingest.example.com:1935/live",
	"srt":  "srt://ingest.example.com:9000",
}
