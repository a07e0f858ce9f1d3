package origin

import (
	"net/http"
	"path"
	"strings"
)

// class groups media types by how they are cached and processed.
type class int

const (
	classSegment   class = iota // immutable media
	classManifest               // playlists and MPDs: inspected, maybe compressed
	classImage                  // may be refreshed in place
	classDVRWindow              // a channel's DVR window, rendered from its index (dvr_window.go)
)

type mediaType struct {
	contentType string
	class       class
}

// lookupType returns the media type served for a file extension; anything
// else is not served.
func lookupType(ext string) (mediaType, bool) {
	switch ext {
	case ".m3u8":
		return mediaType{"application/vnd.apple.mpegurl", classManifest}, true
	case ".mpd":
		return mediaType{"application/dash+xml", classManifest}, true
	case ".m4s":
		return mediaType{"video/iso.segment", classSegment}, true
	case ".mp4":
		return mediaType{"video/mp4", classSegment}, true
	case ".m4a":
		return mediaType{"audio/mp4", classSegment}, true
	case ".ts":
		return mediaType{"video/mp2t", classSegment}, true
	case ".vtt":
		return mediaType{"text/vtt", classSegment}, true
	case ".jpg", ".jpeg":
		return mediaType{"image/jpeg", classImage}, true
	case ".png":
		return mediaType{"image/png", classImage}, true
	}
	return mediaType{}, false
}

// route maps a request to a storage key. It returns 400 for malformed paths
// (encoded slashes or backslashes, NUL, "." or ".." elements), 404 for paths
// outside the mounts, hidden names and types the origin does not serve.
func (o *Origin) route(r *http.Request) (string, mediaType, int) {
	raw := strings.ToLower(r.URL.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%00") {
		return "", mediaType{}, http.StatusBadRequest
	}
	p := r.URL.Path
	for _, m := range o.mounts {
		rest, ok := strings.CutPrefix(p, m.Path)
		if !ok {
			continue
		}
		if status := checkRest(rest); status != http.StatusOK {
			return "", mediaType{}, status
		}
		mt, ok := lookupType(path.Ext(rest))
		if isDVRWindow(rest) {
			mt, ok = mediaType{"application/json", classDVRWindow}, true
		}
		if !ok {
			return "", mediaType{}, http.StatusNotFound
		}
		return m.Key + rest, mt, http.StatusOK
	}
	return "", mediaType{}, http.StatusNotFound
}

// checkRest validates the part of a path below a mount: at least two
// elements ({channel}/{file}), none empty, "." or "..", none hidden, and no
// backslash or control character.
func checkRest(rest string) int {
	if strings.ContainsAny(rest, "\\\x00") {
		return http.StatusBadRequest
	}
	n := 0
	for elem := range strings.SplitSeq(rest, "/") {
		n++
		switch {
		case elem == "." || elem == "..":
			return http.StatusBadRequest
		case elem == "" || strings.HasPrefix(elem, "."):
			return http.StatusNotFound
		}
		for _, c := range []byte(elem) {
			if c < 0x20 || c == 0x7f {
				return http.StatusBadRequest
			}
		}
	}
	if n < 2 {
		return http.StatusNotFound
	}
	return http.StatusOK
}
