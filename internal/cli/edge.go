package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/ospreyvideo/osprey/internal/config"
)

// edgeCmd holds `osprey edge`'s flags. As for serve, pointers and slices
// are nil unless given, so that they can be laid over the config file's
// "edge:" section. Variables are OSPREY_EDGE_*, so that an edge and a
// server started from one environment do not share settings by accident.
type edgeCmd struct {
	Config               string           `name:"config" env:"OSPREY_EDGE_CONFIG" placeholder:"FILE" help:"YAML configuration file; its \"edge:\" section and log settings apply (see docs/osprey.example.yaml)."`
	Origin               []string         `name:"origin" env:"OSPREY_EDGE_ORIGIN" placeholder:"URL" help:"Origin base URL; repeat for fail-over origins, tried in order (the first is the primary). Required."`
	HTTP                 *string          `name:"http" env:"OSPREY_EDGE_HTTP" placeholder:"ADDR" help:"HTTP listen address (default \"${edge_http}\")."`
	Data                 *string          `name:"data" env:"OSPREY_EDGE_DATA" placeholder:"DIR" help:"Data directory: disk cache and admin token (default \"${edge_data}\")."`
	Name                 *string          `name:"name" env:"OSPREY_EDGE_NAME" placeholder:"NAME" help:"This edge's name in Via and Cache-Status (default \"${edge_name}\")."`
	CacheMemory          *config.ByteSize `name:"cache-memory" env:"OSPREY_EDGE_CACHE_MEMORY" placeholder:"SIZE" help:"Memory cache budget, e.g. 512MiB (default ${edge_cache_memory})."`
	CacheDisk            *config.ByteSize `name:"cache-disk" env:"OSPREY_EDGE_CACHE_DISK" placeholder:"SIZE" help:"Disk cache budget, e.g. 10GiB; 0 disables the disk tier (default ${edge_cache_disk})."`
	MaxObjectSize        *config.ByteSize `name:"max-object-size" env:"OSPREY_EDGE_MAX_OBJECT_SIZE" placeholder:"SIZE" help:"Larger responses are passed through uncached (default ${edge_max_object_size})."`
	CacheKeyQuery        []string         `name:"cache-key-query" env:"OSPREY_EDGE_CACHE_KEY_QUERY" placeholder:"NAME" help:"Query parameter that is part of the cache key (repeatable; a list given here replaces the default); all others are dropped (default: player, the manifest filters, _HLS_msn, _HLS_part, _HLS_skip)."`
	TTL                  []string         `name:"ttl" env:"OSPREY_EDGE_TTL" placeholder:"PATTERN=DURATION" help:"Default lifetime for paths matching PATTERN when the origin sets none, e.g. \"*.m3u8=1s\" (repeatable; built in: *.m3u8=1s, *.mpd=1s, *=24h)."`
	NegativeTTL          *time.Duration   `name:"negative-ttl" env:"OSPREY_EDGE_NEGATIVE_TTL" placeholder:"DURATION" help:"How long 404 and 410 are cached; 0 disables (default ${edge_negative_ttl})."`
	StaleIfError         *time.Duration   `name:"stale-if-error" env:"OSPREY_EDGE_STALE_IF_ERROR" placeholder:"DURATION" help:"Serve expired objects up to this long past expiry when the origins fail (default ${edge_stale_if_error})."`
	StaleWhileRevalidate *time.Duration   `name:"stale-while-revalidate" env:"OSPREY_EDGE_STALE_WHILE_REVALIDATE" placeholder:"DURATION" help:"Serve expired objects this long past expiry while revalidating them in the background (default ${edge_stale_while_revalidate})."`
	OriginConnectTimeout *time.Duration   `name:"origin-connect-timeout" env:"OSPREY_EDGE_ORIGIN_CONNECT_TIMEOUT" placeholder:"DURATION" help:"Time allowed to connect to an origin (default ${edge_origin_connect_timeout})."`
	OriginTimeout        *time.Duration   `name:"origin-timeout" env:"OSPREY_EDGE_ORIGIN_TIMEOUT" placeholder:"DURATION" help:"Time allowed for an origin's response headers before failing over to the next one; the last origin left gets 30s (default ${edge_origin_timeout})."`
	OriginRetryAfter     *time.Duration   `name:"origin-retry-after" env:"OSPREY_EDGE_ORIGIN_RETRY_AFTER" placeholder:"DURATION" help:"How long a failed origin is skipped (default ${edge_origin_retry_after})."`
	OriginHoldTimeout    *time.Duration   `name:"origin-hold-timeout" env:"OSPREY_EDGE_ORIGIN_HOLD_TIMEOUT" placeholder:"DURATION" help:"Bound on an LL-HLS blocking reload the origin holds; 504 after it, without failover (default ${edge_origin_hold_timeout})."`
	OriginHealthPath     *string          `name:"origin-health-path" env:"OSPREY_EDGE_ORIGIN_HEALTH_PATH" placeholder:"PATH" help:"Path probed on a skipped origin to bring it back; empty disables probing (default \"${edge_origin_health_path}\")."`
	OriginHeader         []string         `name:"origin-header" env:"OSPREY_EDGE_ORIGIN_HEADER" sep:"none" placeholder:"\"NAME: VALUE\"" help:"Header added to every origin request, e.g. a secret CDN identifier the origin requires (repeatable)."`
	TrustedKey           []string         `name:"trusted-key" env:"OSPREY_EDGE_TRUSTED_KEY" placeholder:"ID=PUBLIC.pem" help:"Public key of a CloudFront-style key pair, for signed URLs and cookies (repeatable, for rotation)."`
	RequireSigned        []string         `name:"require-signed" env:"OSPREY_EDGE_REQUIRE_SIGNED" placeholder:"PATTERN" help:"Paths matching PATTERN (\"/vod/*\") need a signed URL or signed cookies (repeatable)."`
	AccessLog            *string          `name:"access-log" env:"OSPREY_EDGE_ACCESS_LOG" placeholder:"FILE" help:"JSON access log: a file, \"-\" for standard output, \"\" for none (default \"${edge_access_log}\")."`
	TLSCert              *string          `name:"tls-cert" env:"OSPREY_EDGE_TLS_CERT" placeholder:"FILE" help:"Certificate (PEM, with its chain) to serve HTTPS and HTTP/2 instead of HTTP; needs --tls-key."`
	TLSKey               *string          `name:"tls-key" env:"OSPREY_EDGE_TLS_KEY" placeholder:"FILE" help:"Private key (PEM) of --tls-cert. Both are re-read when they change and on SIGHUP."`
	Events               *string          `name:"events" env:"OSPREY_EDGE_EVENTS,OSPREY_EVENTS" placeholder:"URL" help:"Event bus shared with the other edges and the API nodes, nats://HOST:PORT[,nats://…][?stream=NAME&subject_prefix=P] (NATS with JetStream; the same stream and prefix as the servers): invalidations posted to any of them reach this edge, and this edge's reach them. Default: none (invalidations stay on this edge)."`
	NodeID               *string          `name:"node-id" env:"OSPREY_EDGE_NODE_ID,OSPREY_NODE_ID" placeholder:"ID" help:"This edge's name on the event bus (default: the host name)."`
	MetricsAddr          *string          `name:"metrics-addr" env:"OSPREY_EDGE_METRICS_ADDR" placeholder:"ADDR" help:"Serve /metrics only on this address, without authentication; empty: /metrics on the HTTP address, behind the admin token."`
	LogLevel             *string          `name:"log-level" env:"OSPREY_EDGE_LOG_LEVEL" placeholder:"LEVEL" help:"debug, info, warn or error (default \"${default_log_level}\")."`
	LogFormat            *string          `name:"log-format" env:"OSPREY_EDGE_LOG_FORMAT" placeholder:"FORMAT" help:"text or json (default \"${default_log_format}\")."`
}

func (c *edgeCmd) Help() string {
	return `Runs a caching edge in front of one or more origins (an osprey serve, another
edge as an origin shield, or any HTTP origin). The invalidation API
(POST /api/v1/edge/invalidations) takes the admin token from
OSPREY_ADMIN_TOKEN, else <data>/admin-token (generated on first start); so
does /metrics unless --metrics-addr serves it apart. The file's "security:"
section (rate limits, access rules, connection caps) applies to the edge.
With --events, every edge and API node on the same NATS shares
invalidations: one posted to any of them empties every edge.`
}

// Run builds the edge configuration and runs the edge until a signal.
func (c *edgeCmd) Run(env *runEnv) error {
	if env.opts.Edge == nil {
		return fmt.Errorf("this build of osprey cannot run an edge")
	}
	cfg, err := c.buildConfig()
	if err != nil {
		return usageError{err}
	}
	log := newLogger(env.stderr, cfg.LogLevel, cfg.LogFormat)
	token := strings.TrimSpace(os.Getenv("OSPREY_ADMIN_TOKEN"))
	return serveWithSignals(env.ctx, log, func(ctx context.Context, reload <-chan struct{}) error {
		return env.opts.Edge(ctx, cfg.Edge, token, log, reload)
	})
}

// buildConfig lays flags and variables over the file over the defaults.
func (c *edgeCmd) buildConfig() (config.Config, error) {
	cfg, err := config.LoadEdge(c.Config)
	if err != nil {
		return config.Config{}, err
	}
	e := &cfg.Edge
	setSlice(&e.Origins, c.Origin)
	set(&e.HTTPAddr, c.HTTP)
	set(&e.DataDir, c.Data)
	set(&e.Name, c.Name)
	set(&e.CacheMemory, c.CacheMemory)
	set(&e.CacheDisk, c.CacheDisk)
	set(&e.MaxObjectSize, c.MaxObjectSize)
	setSlice(&e.CacheKeyQuery, c.CacheKeyQuery)
	setSlice(&e.TTL, c.TTL)
	set(&e.NegativeTTL, c.NegativeTTL)
	set(&e.StaleIfError, c.StaleIfError)
	set(&e.StaleWhileRevalidate, c.StaleWhileRevalidate)
	set(&e.OriginConnectTimeout, c.OriginConnectTimeout)
	set(&e.OriginTimeout, c.OriginTimeout)
	set(&e.OriginRetryAfter, c.OriginRetryAfter)
	set(&e.OriginHoldTimeout, c.OriginHoldTimeout)
	set(&e.OriginHealthPath, c.OriginHealthPath)
	setSlice(&e.OriginHeaders, c.OriginHeader)
	setSlice(&e.TrustedKeys, c.TrustedKey)
	setSlice(&e.RequireSigned, c.RequireSigned)
	set(&e.AccessLog, c.AccessLog)
	set(&e.TLSCert, c.TLSCert)
	set(&e.TLSKey, c.TLSKey)
	set(&e.Events, c.Events)
	set(&e.NodeID, c.NodeID)
	// The file's top-level security section is the edge's front door too.
	e.Security = cfg.Security
	set(&e.Security.MetricsAddr, c.MetricsAddr)
	set(&cfg.LogLevel, c.LogLevel)
	set(&cfg.LogFormat, c.LogFormat)
	var errs []string
	for _, err := range append(e.Validate("", true), config.CheckLogging(cfg.LogLevel, cfg.LogFormat)...) {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return config.Config{}, fmt.Errorf("invalid configuration (keys as in the config file's edge section):\n  %s",
			strings.Join(errs, "\n  "))
	}
	return cfg, nil
}

func setSlice(dst *[]string, v []string) {
	if v != nil {
		*dst = v
	}
}

// edgeVars are the defaults shown in edge's help.
func edgeVars() kong.Vars {
	d := config.DefaultEdge()
	return kong.Vars{
		"edge_http":                   d.HTTPAddr,
		"edge_data":                   d.DataDir,
		"edge_name":                   d.Name,
		"edge_cache_memory":           d.CacheMemory.String(),
		"edge_cache_disk":             d.CacheDisk.String(),
		"edge_max_object_size":        d.MaxObjectSize.String(),
		"edge_negative_ttl":           d.NegativeTTL.String(),
		"edge_stale_if_error":         d.StaleIfError.String(),
		"edge_stale_while_revalidate": d.StaleWhileRevalidate.String(),
		"edge_origin_connect_timeout": d.OriginConnectTimeout.String(),
		"edge_origin_timeout":         d.OriginTimeout.String(),
		"edge_origin_retry_after":     d.OriginRetryAfter.String(),
		"edge_origin_hold_timeout":    d.OriginHoldTimeout.String(),
		"edge_origin_health_path":     d.OriginHealthPath,
		"edge_access_log":             d.AccessLog,
	}
}
