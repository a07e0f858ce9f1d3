package config

import (
	"fmt"
	"time"
)

// Ingest configures the RTMP and SRT front door: connection caps and
// handshake deadlines shared by every ingest listener. Each listener (RTMP,
// SRT) applies them on its own.
type Ingest struct {
	// MaxConnections caps a listener's connections, those still in their
	// handshake and those publishing; more are refused at once. Default 1000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP caps the connections from one client address
	// (IPv6 clients by /64), handshaking or publishing, so that one host
	// cannot fill the listener. Default 16.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// HandshakeTimeout is the time a connection has, from its first packet,
	// to complete the protocol handshake and have its stream key accepted;
	// it is closed otherwise. Default 5s.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// IdleTimeout is how long an accepted publisher may send no data before
	// it is closed. Default 10s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// RTMPURL and SRTURL are the bases of the ingest URLs the API hands
	// out, for a cluster whose publishers reach the ingest nodes through
	// a load balancer: "rtmp://ingest.example.com:1935/live" gives
	// rtmp://ingest.example.com:1935/live/{stream_key}, and
	// "srt://ingest.example.com:9000" gives
	// srt://ingest.example.com:9000?streamid=publish:{stream_key}. Empty:
	// the public URL's host (or the request's) with the rtmp and srt
	// listen ports, as a single node does.
	RTMPURL string `yaml:"rtmp_url"` // --ingest-rtmp-url, OSPREY_INGEST_RTMP_URL
	SRTURL  string `yaml:"srt_url"`  // --ingest-srt-url, OSPREY_INGEST_SRT_URL
}

// Bounds enforced by Ingest.validate.
const (
	maxIngestConnections = 1_000_000
	minIngestTimeout     = time.Second
	maxIngestTimeout     = 10 * time.Minute
)

func defaultIngest() Ingest {
	return Ingest{
		MaxConnections:      1000,
		MaxConnectionsPerIP: 16,
		HandshakeTimeout:    5 * time.Second,
		IdleTimeout:         10 * time.Second,
	}
}

// validate checks the ingest section; keys in errors start with "ingest.".
func (x Ingest) validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if x.MaxConnections < 1 || x.MaxConnections > maxIngestConnections {
		add("ingest.max_connections", "must be between 1 and %d, got %d", maxIngestConnections, x.MaxConnections)
	}
	if x.MaxConnectionsPerIP < 1 || x.MaxConnectionsPerIP > max(x.MaxConnections, 1) {
		add("ingest.max_connections_per_ip", "must be between 1 and ingest.max_connections (%d), got %d", x.MaxConnections, x.MaxConnectionsPerIP)
	}
	if d := x.HandshakeTimeout; d < minIngestTimeout || d > maxIngestTimeout {
		add("ingest.handshake_timeout", "must be between %s and %s, got %s", minIngestTimeout, maxIngestTimeout, d)
	}
	if d := x.IdleTimeout; d < minIngestTimeout || d > maxIngestTimeout {
		add("ingest.idle_timeout", "must be between %s and %s, got %s", minIngestTimeout, maxIngestTimeout, d)
	}
	return errs
}
