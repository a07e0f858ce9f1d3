package live

import "time"

// Status is a channel's live state as the API shows it.
type Status struct {
	State      string            `json:"state"` // "idle" or "live"
	Protocol   string            `json:"protocol,omitempty"`
	RemoteAddr string            `json:"remote_addr,omitempty"`
	Since      *time.Time        `json:"since,omitempty"`
	Input      []string          `json:"input,omitempty"`      // e.g. ["h264 1920x1080", "aac 48000Hz 2ch"]
	Renditions []string          `json:"renditions,omitempty"` // e.g. ["1080p", "720p", "audio"]
	Transcoder *TranscoderStatus `json:"transcoder,omitempty"`
	Packager   *PackagerStatus   `json:"packager,omitempty"`
	// Degraded is set once the channel has shed load because the transcoder
	// could not keep up with real time.
	Degraded *Degraded `json:"degraded,omitempty"`
}

// TranscoderStatus reports the supervised ffmpeg process of a live channel.
type TranscoderStatus struct {
	Running  bool    `json:"running"`
	Restarts int     `json:"restarts"`
	Speed    float64 `json:"speed"`         // encoding speed relative to real time, from ffmpeg -progress
	Lag      float64 `json:"lag_seconds"`   // how far output trails input, in seconds
	Behind   bool    `json:"behind"`        // true while the transcoder cannot keep up with real time
	Dropped  int64   `json:"dropped_units"` // input units dropped because the transcoder could not take them
}

// PackagerStatus reports a live channel's packaging and its storage
// writes: a backlog that grows means storage is slow or refusing writes
// (segments are held, then listed as gaps after 30 s).
type PackagerStatus struct {
	Segments     int64  `json:"segments"`      // published in this session
	LastSegment  uint64 `json:"last_segment"`  // number of the last published segment
	StoreBacklog int    `json:"store_backlog"` // objects waiting to be stored
	BacklogBytes int64  `json:"backlog_bytes"` // their size
	StoreGaps    int64  `json:"store_gaps"`    // segment objects given up, listed as gaps
	StoreErrors  int64  `json:"store_errors"`  // writes given up and failed manifest renders
	Continued    bool   `json:"continued"`     // this session took over one a crash left live
	// EdgeDelay, with low-latency parts, is how many seconds after a frame
	// reached ingest the part holding it was ready to serve: what ingest,
	// transcoding and packaging add to every viewer's latency.
	EdgeDelay float64 `json:"edge_delay,omitempty"`
}

// Degraded tells how far a live channel has shed load.
type Degraded struct {
	Level  int       `json:"level"`  // steps taken: 1 dropped the top rung, then faster presets, then half the frame rate
	Reason string    `json:"reason"` // the last step, e.g. "dropped the top rung 1080p"
	Since  time.Time `json:"since"`  // when the last step was taken
}
