// Package config is Osprey's typed configuration: defaults in code, an
// optional YAML file, OSPREY_* environment variables and command-line flags,
// in increasing order of precedence.
package config

// Config is everything `osprey serve` needs.
type Config struct {
	DataDir   string `yaml:"data"`       // --data, OSPREY_DATA; default "./osprey-data"
	HTTPAddr  string `yaml:"http"`       // --http, OSPREY_HTTP; default ":8080"
	RTMPAddr  string `yaml:"rtmp"`       // --rtmp, OSPREY_RTMP; default ":1935"; "" disables
	SRTAddr   string `yaml:"srt"`        // --srt, OSPREY_SRT; default ":9000"; "" disables
	PublicURL string `yaml:"public_url"` // --public-url, OSPREY_PUBLIC_URL; default "" (from the request's Host)

	AdminToken string `yaml:"-"` // OSPREY_ADMIN_TOKEN only (never in a file or a flag)

	// Where state lives and which parts run here (see cluster.go). The
	// defaults are the single-node install: a folder, SQLite and in-process
	// events in the data folder, every role.
	Storage string `yaml:"storage"` // --storage, OSPREY_STORAGE: file:DIR or s3://BUCKET[/PREFIX]?…; "" = file:<data>/media
	Catalog string `yaml:"catalog"` // --catalog, OSPREY_CATALOG: sqlite:PATH or postgres://…; "" = SQLite <data>/osprey.db
	Events  string `yaml:"events"`  // --events, OSPREY_EVENTS: nats://HOST:PORT[,…][?stream=NAME&subject_prefix=P&replicas=N]; "" = in-process
	Roles   string `yaml:"roles"`   // --roles, OSPREY_ROLES: comma-separated; default all four
	NodeID  string `yaml:"node_id"` // --node-id, OSPREY_NODE_ID; "" = the host name
	// AdvertiseURL is where the other nodes reach this node's HTTP address
	// (--advertise-url, OSPREY_ADVERTISE_URL): origin nodes fetch the
	// low-latency edge of the channels an ingest node packages from it.
	// "" = http(s)://<the HTTP address's IP, or this host's first
	// non-loopback address>:<port>.
	AdvertiseURL string `yaml:"advertise_url"`

	LogLevel  string `yaml:"log_level"`  // debug, info, warn, error; default info
	LogFormat string `yaml:"log_format"` // text or json; default text

	CORSOrigin string `yaml:"cors_origin"` // Access-Control-Allow-Origin on media; default "*"

	Origin   Origin            `yaml:"origin"`
	Edge     Edge              `yaml:"edge"` // the edge in front of the local origin (edge.enabled)
	Live     Live              `yaml:"live"`
	VOD      VOD               `yaml:"vod"`
	Webhooks Webhooks          `yaml:"webhooks"`
	Ingest   Ingest            `yaml:"ingest"`   // RTMP/SRT front door: connection caps and deadlines
	Security Security          `yaml:"security"` // HTTP front door: TLS, rate limits, access rules
	FFmpeg   FFmpeg            `yaml:"ffmpeg"`
	Ladders  map[string]Ladder `yaml:"ladders"` // named presets, merged over the built-in ones
}

// Origin configures the HTTP origin that serves /live/ and /vod/.
type Origin struct {
	// RequireHeader, "Name: value", makes the origin refuse media requests
	// that do not carry this header with 403: set the same line as the
	// edge's origin_headers so that viewers must come through the edge (as
	// MediaPackage does with CloudFront's CDN identifier). Default "".
	RequireHeader string `yaml:"require_header"`
	// CacheSize is the byte budget of the origin's read cache for media
	// and init segments when storage is S3 (kept in unnamed files under
	// <data>/cache/origin, i.e. in the page cache); 0 turns it off. With
	// file storage there is no cache: the kernel's page cache does it.
	// Default 256 MiB.
	CacheSize int64 `yaml:"cache_size"`
}

// FFmpeg locates the transcoder binaries.
type FFmpeg struct {
	Path      string `yaml:"path"`       // default "ffmpeg" (from PATH)
	ProbePath string `yaml:"probe_path"` // default "ffprobe" (from PATH)
}

// Ladder is a named adaptive-bitrate ladder preset.
type Ladder struct {
	Video       []VideoRung `yaml:"video"`
	Audio       AudioRung   `yaml:"audio"`
	Passthrough bool        `yaml:"passthrough"` // add the input video, untouched, as a rung
	// Encoder settings shared by every video rung.
	Preset string `yaml:"preset"` // x264 preset; default "veryfast"
	Tune   string `yaml:"tune"`   // x264 tune; default ""
	// Lookahead gives live encodes the preset's lookahead, B-frames and
	// mbtree back: about 7 % fewer bits for the same quality, about 600 ms
	// more latency. Default false (low latency); VOD always has them.
	Lookahead bool `yaml:"lookahead"`
}

// VideoRung is one rendition of a ladder. Rungs taller than the input are skipped.
type VideoRung struct {
	Name       string `yaml:"name"`        // e.g. "720p"
	Height     int    `yaml:"height"`      // width follows the input's aspect ratio, rounded to even
	Bitrate    int    `yaml:"bitrate"`     // average video bits/s
	MaxBitrate int    `yaml:"max_bitrate"` // peak bits/s (VBV maxrate); default 1.1×Bitrate
	Profile    string `yaml:"profile"`     // H.264 profile; default "high"
	MaxFPS     int    `yaml:"max_fps"`     // 0: keep the input frame rate
}

// AudioRung is the audio rendition of a ladder.
type AudioRung struct {
	Bitrate    int `yaml:"bitrate"`     // bits/s; default 128000
	SampleRate int `yaml:"sample_rate"` // Hz; default 48000
	Channels   int `yaml:"channels"`    // default 2
}
