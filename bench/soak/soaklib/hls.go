package soaklib

import (
	"bufio"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// mediaPlaylist is what a viewer reads from an HLS media playlist.
type mediaPlaylist struct {
	targetDuration time.Duration
	sequence       int64    // EXT-X-MEDIA-SEQUENCE
	segments       []string // URIs, resolved against the playlist's URL
	initURI        string   // EXT-X-MAP URI, resolved; "" without one
	ended          bool
}

// lastSequence is the media sequence number of the newest segment, or
// sequence-1 when the playlist lists none.
func (p mediaPlaylist) lastSequence() int64 { return p.sequence + int64(len(p.segments)) - 1 }

// parseMediaPlaylist reads the tags a viewer needs from an HLS media
// playlist at base.
func parseMediaPlaylist(base *url.URL, text string) (mediaPlaylist, error) {
	var p mediaPlaylist
	sc := bufio.NewScanner(strings.NewReader(text))
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return p, fmt.Errorf("playlist does not start with #EXTM3U: %q", line)
			}
			first = false
			continue
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"))
			if err != nil || n <= 0 {
				return p, fmt.Errorf("bad %s", line)
			}
			p.targetDuration = time.Duration(n) * time.Second
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			n, err := strconv.ParseInt(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
			if err != nil {
				return p, fmt.Errorf("bad %s", line)
			}
			p.sequence = n
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			p.initURI = resolve(base, benchkit.Attr(line, "URI"))
		case line == "#EXT-X-ENDLIST":
			p.ended = true
		case strings.HasPrefix(line, "#"):
		default:
			p.segments = append(p.segments, resolve(base, line))
		}
	}
	if first {
		return p, fmt.Errorf("empty playlist")
	}
	if p.targetDuration == 0 {
		return p, fmt.Errorf("no #EXT-X-TARGETDURATION")
	}
	return p, sc.Err()
}

// variantURIs lists the variant streams of a multivariant playlist,
// resolved against base.
func variantURIs(base *url.URL, text string) []string {
	var out []string
	next := false
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			next = true
		case next && line != "" && !strings.HasPrefix(line, "#"):
			out = append(out, resolve(base, line))
			next = false
		}
	}
	return out
}

// renditionURIs lists the URIs of the alternative renditions (audio,
// subtitles) of a multivariant playlist, resolved against base.
func renditionURIs(base *url.URL, text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#EXT-X-MEDIA:") {
			if u := benchkit.Attr(line, "URI"); u != "" {
				out = append(out, resolve(base, u))
			}
		}
	}
	return out
}

func resolve(base *url.URL, ref string) string {
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}
