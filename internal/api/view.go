package api

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/live"
)

// Channel is a channel as the API shows it.
type Channel struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	StreamKey string `json:"stream_key"`
	State     string `json:"state"` // "idle" or "live"
	// DVRWindow is the channel's own DVR window in seconds; 0: the
	// deployment's default (live.dvr_window), which DVRWindowEffective shows.
	DVRWindow          int64 `json:"dvr_window"`
	DVRWindowEffective int64 `json:"dvr_window_effective,omitempty"`
	// Record makes each session an asset when it ends.
	Record    bool      `json:"record"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Ingest    Ingest    `json:"ingest"`
	Playback  Playback  `json:"playback"`
	// Live is the full live status while the channel is live.
	Live *live.Status `json:"live,omitempty"`
}

// Ingest holds the URLs a publisher sends to; a disabled protocol's is empty.
type Ingest struct {
	RTMP string `json:"rtmp,omitempty"` // rtmp://HOST:PORT/live/KEY
	SRT  string `json:"srt,omitempty"`  // srt://HOST:PORT?streamid=publish:KEY
}

// Playback holds the URLs viewers use.
type Playback struct {
	HLS    string `json:"hls"`    // BASE/live/ID/index.m3u8
	DASH   string `json:"dash"`   // BASE/live/ID/manifest.mpd
	Player string `json:"player"` // BASE/watch/ID
}

// ChannelList is the body of GET /api/v1/channels.
type ChannelList struct {
	Items []Channel `json:"items"`
}

// CreateChannelRequest is the body of POST /api/v1/channels.
type CreateChannelRequest struct {
	Name string `json:"name"`
	// DVRWindow is how long the channel's segments are kept for
	// time-shifted viewing and clips: a whole number of seconds (7200) or
	// a duration string ("2h", "90m"); absent or 0: the deployment's
	// default. At most 24h, at least the live window.
	DVRWindow json.RawMessage `json:"dvr_window,omitempty"`
	// Record makes each session of the channel an asset when it ends.
	Record bool `json:"record,omitempty"`
}

// channelView renders ch for a response to r.
func (a *API) channelView(r *http.Request, ch catalog.Channel) Channel {
	base := a.baseURL(r)
	v := Channel{
		ID:                 ch.ID,
		Name:               ch.Name,
		StreamKey:          ch.StreamKey,
		State:              "idle",
		DVRWindow:          dvrSeconds(ch.DVRWindow),
		DVRWindowEffective: dvrSeconds(a.dvrWindow(ch)),
		Record:             ch.Record,
		CreatedAt:          ch.CreatedAt,
		UpdatedAt:          ch.UpdatedAt,
		Playback: Playback{
			HLS:    base + "/live/" + ch.ID + "/index.m3u8",
			DASH:   base + "/live/" + ch.ID + "/manifest.mpd",
			Player: base + "/watch/" + ch.ID,
		},
	}
	host := ingestHost(base)
	switch port := listenPort(a.deps.RTMPAddr); {
	case a.deps.RTMPURL != "":
		v.Ingest.RTMP = strings.TrimRight(a.deps.RTMPURL, "/") + "/" + ch.StreamKey
	case port != "":
		v.Ingest.RTMP = "rtmp://" + net.JoinHostPort(host, port) + "/live/" + ch.StreamKey
	}
	switch port := listenPort(a.deps.SRTAddr); {
	case a.deps.SRTURL != "":
		v.Ingest.SRT = strings.TrimRight(a.deps.SRTURL, "/") + "?streamid=publish:" + ch.StreamKey
	case port != "":
		v.Ingest.SRT = "srt://" + net.JoinHostPort(host, port) + "?streamid=publish:" + ch.StreamKey
	}
	if a.deps.Live != nil {
		if st := a.deps.Live.Status(ch.ID); st.State == "live" {
			v.State = st.State
			v.Live = &st
		}
	}
	return v
}

// baseURL is the public URL without a trailing slash, or else the scheme and
// Host of the request. A Host header that is not a plain host[:port] is
// replaced by "localhost" rather than echoed into URLs.
func (a *API) baseURL(r *http.Request) string {
	if a.deps.PublicURL != "" {
		return strings.TrimRight(a.deps.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

func validHost(host string) bool {
	if host == "" || strings.ContainsAny(host, "/?#@\\ \t\r\n") {
		return false
	}
	u, err := url.Parse("http://" + host)
	return err == nil && u.Host == host && u.Hostname() != ""
}

// ingestHost is the host name of base, e.g. "video.example.com" or "::1".
func ingestHost(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	return u.Hostname()
}

// listenPort is the port of a listen address, or "" if it has none.
func listenPort(addr string) string {
	if addr == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}
