package origin

import (
	"cmp"
	"errors"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// Time-shifted playback: ?start= and ?end= on a channel's multivariant
// playlist (index.m3u8), its MPD (manifest.mpd) and the media playlists of
// its session directories ({dir}/{rendition}/index.m3u8) ask for the span
// [start, end) of the channel's DVR window instead of the live window. The
// answer is rendered from the DVR index (packager/dvr: dvr.json and the
// chunks the span needs), never from the live source:
//
//   - the multivariant playlist lists the span's media playlists with the
//     same start and end;
//   - a media playlist lists the span's segments with
//     EXT-X-PROGRAM-DATE-TIME on each and EXT-X-START at its start (players
//     begin at start, not at the newest segment); while it may still grow
//     (no end, or end ahead of the newest segment, in a session still
//     live) it is EXT-X-PLAYLIST-TYPE:EVENT without EXT-X-ENDLIST, cached
//     like a live playlist; once it cannot grow it is closed
//     (EXT-X-ENDLIST, type VOD) and cached long;
//   - the MPD is static for a closed span, dynamic otherwise, with
//     timeShiftBufferDepth covering the DVR window.
//
// A span is clipped to the session holding start (dvr.Find). A start
// before the DVR window, with an end after its start (or none), is served
// from the window's start, as a sliding playlist rather than an EVENT one
// (its first segments are deleted as the window moves on). Answers:
//
//	malformed start or end, end <= start                       400, naming the parameter
//	no DVR index for the channel, or no segment in the span     404
//	span wholly outside the DVR window                          422, naming the window
//
// Other manifests and every segment ignore the parameters (segment URIs
// in the playlists carry none).

// Time-shift query parameters.
const (
	paramStart = "start"
	paramEnd   = "end"
)

// TimeShiftParams returns the names of the query parameters that select a
// span of the DVR window. A caching proxy must keep them in its cache key
// and forward them.
func TimeShiftParams() []string { return []string{paramStart, paramEnd} }

// Cache-Control of time-shifted answers that no longer change (a closed
// span: its segments are fixed until they leave the DVR window).
const ccDVRClosed = "public, max-age=3600"

// dvrTimeURL is the UTCTiming of dynamic time-shifted MPDs (the origin's
// TimeHandler, rewritten against PublicURL like a stored MPD's).
const dvrTimeURL = "/time"

// timeShift is a request's span; end is zero when not given.
type timeShift struct {
	start, end time.Time
}

// query is the span as the multivariant playlist carries it into media
// playlist URIs: RFC 3339 with milliseconds, UTC (digits, "-", ":", ".",
// "T" and "Z" need no escaping in a query).
func (ts *timeShift) query() string {
	q := paramStart + "=" + ts.start.UTC().Format(instantLayout)
	if !ts.end.IsZero() {
		q += "&" + paramEnd + "=" + ts.end.UTC().Format(instantLayout)
	}
	return q
}

const instantLayout = "2006-01-02T15:04:05.000Z07:00"

// parseTimeShift reads start and end from a raw query: nil and no error
// without start (end alone selects nothing: the request is a live one);
// a *filterError (400) when one is malformed or given more than once, or
// end is not after start.
func parseTimeShift(rawQuery string) (*timeShift, error) {
	if rawQuery == "" || !strings.Contains(rawQuery, paramStart) {
		return nil, nil
	}
	raw := map[string][]string{}
	for part := range strings.SplitSeq(rawQuery, "&") {
		rawName, rawValue, _ := strings.Cut(part, "=")
		if name, err := url.QueryUnescape(rawName); err == nil && (name == paramStart || name == paramEnd) {
			raw[name] = append(raw[name], rawValue)
		}
	}
	if len(raw[paramStart]) == 0 {
		return nil, nil
	}
	var ts timeShift
	for _, name := range []string{paramStart, paramEnd} {
		vs := raw[name]
		switch {
		case len(vs) == 0:
			continue
		case len(vs) > 1:
			return nil, badParam(name, "given more than once")
		}
		value, err := url.QueryUnescape(vs[0])
		if err != nil {
			return nil, badParam(name, "is not a valid query value (bad percent-encoding)")
		}
		t, err := parseInstant(value)
		if err != nil {
			return nil, badParam(name, "%q is not an RFC 3339 time (2026-12-07T20:00:00.000Z) or epoch seconds", value)
		}
		if name == paramStart {
			ts.start = t
		} else {
			ts.end = t
		}
	}
	if !ts.end.IsZero() && !ts.end.After(ts.start) {
		return nil, badParam(paramEnd, "must be after start")
	}
	return &ts, nil
}

// parseInstant reads RFC 3339 (any precision) or epoch seconds (decimal,
// with an optional fraction). A space stands for "+": an offset such as
// +01:00 left unescaped in a query arrives as one.
func parseInstant(v string) (time.Time, error) {
	v = strings.ReplaceAll(v, " ", "+")
	if v == "" || len(v) > 40 {
		return time.Time{}, errors.New("bad length")
	}
	if v[0] >= '0' && v[0] <= '9' && !strings.ContainsAny(v, "-:T") {
		secs, frac, _ := strings.Cut(v, ".")
		if !isDigits(secs) || len(secs) > 11 || (frac != "" || strings.Contains(v, ".")) && !isDigits(frac) || len(frac) > 9 {
			return time.Time{}, errors.New("not epoch seconds")
		}
		s, _ := strconv.ParseInt(secs, 10, 64)
		ns := int64(0)
		if frac != "" {
			ns, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		}
		return time.Unix(s, ns).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, err
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, errors.New("out of range")
	}
	return t.UTC(), nil
}

// dvrTarget is what a time-shifted request asks for.
type dvrTarget struct {
	prefix    string // the channel's key prefix, "live/{channel}"
	kind      string // "multivariant", "mpd" or "media"
	dir, name string // media: the session directory and rendition
}

// dvrTargetOf maps a storage key to the time-shifted manifest it names;
// false for keys the parameters do not apply to.
func (o *Origin) dvrTargetOf(key string) (dvrTarget, bool) {
	for _, m := range o.mounts {
		rest, ok := strings.CutPrefix(key, m.Key)
		if !ok {
			continue
		}
		ch, rel, _ := strings.Cut(rest, "/")
		t := dvrTarget{prefix: m.Key + ch}
		switch parts := strings.Split(rel, "/"); {
		case rel == manifest.MultivariantKey:
			t.kind = "multivariant"
		case rel == manifest.MPDKey:
			t.kind = "mpd"
		case len(parts) == 3 && manifest.ValidDir(parts[0]) && manifest.ValidName(parts[1]) && parts[2] == manifest.PlaylistName:
			t.kind, t.dir, t.name = "media", parts[0], parts[1]
		default:
			return dvrTarget{}, false
		}
		return t, true
	}
	return dvrTarget{}, false
}

// serveDVR serves a time-shifted manifest. It reports false, having
// written nothing, when the request is not one (storage or the live
// source serves it).
func (o *Origin) serveDVR(w http.ResponseWriter, r *http.Request, key string) bool {
	target, ok := o.dvrTargetOf(key)
	if !ok {
		return false
	}
	ts, err := parseTimeShift(r.URL.RawQuery)
	if err != nil {
		o.failNoStore(w, http.StatusBadRequest, err.Error())
		return true
	}
	if ts == nil {
		return false
	}
	f, clamped, err := o.findSpan(r, target.prefix, ts)
	var we *dvr.WindowError
	switch {
	case errors.As(err, &we):
		o.failNoStore(w, http.StatusUnprocessableEntity, err.Error())
		return true
	case errors.Is(err, dvr.ErrNoIndex):
		o.failWith(w, http.StatusNotFound, "no DVR window for this channel")
		return true
	case errors.Is(err, dvr.ErrNoMedia):
		o.failWith(w, http.StatusNotFound, "no media in this span of the DVR window")
		return true
	case err != nil:
		if r.Context().Err() == nil {
			o.log.Error("reading the DVR index", "prefix", target.prefix, "err", err)
		}
		o.fail(w, http.StatusInternalServerError)
		return true
	}
	final := f.Final
	// A span whose end passed long ago without the index reaching it (the
	// channel stalled) is closed too, but not for long: it may yet fill.
	closed := final || !ts.end.IsZero() && o.now().After(ts.end.Add(3*f.View.MaxSegDur+10*time.Second))
	body, err := o.renderDVR(target, f, ts, closed, clamped)
	switch {
	case errors.Is(err, errNoRendition):
		o.failWith(w, http.StatusNotFound, "no such rendition in this span of the DVR window")
		return true
	case err != nil:
		o.log.Error("rendering a time-shifted manifest", "key", key, "err", err)
		o.fail(w, http.StatusInternalServerError)
		return true
	}
	cc := o.liveCC
	switch {
	case final && !clamped:
		cc = ccDVRClosed
	case closed:
		cc = ccEnded // it may yet fill, or (clamped) move with the window
	}
	o.sendDVR(w, r, key, body, path.Ext(key), cc)
	return true
}

// errNoRendition: the media playlist asked for is not in the span.
var errNoRendition = errors.New("no such rendition in the span")

// renderDVR renders the target manifest of a span.
func (o *Origin) renderDVR(target dvrTarget, f *dvr.Found, ts *timeShift, closed, clamped bool) ([]byte, error) {
	v := f.View
	switch target.kind {
	case "multivariant":
		return withStart(carryQuery(v.Multivariant(), ts.query())), nil
	case "media":
		pl := v.MediaPlaylist(target.name, closed)
		if v.Dir != target.dir || pl == nil {
			return nil, errNoRendition
		}
		switch {
		case closed:
			pl.PlaylistType = "VOD"
		case !clamped:
			pl.PlaylistType = "EVENT"
		}
		return withStart(pl.Marshal()), nil
	}
	if closed {
		// Published at its media end: the same bytes at every request.
		return v.MPD(true, time.Unix(0, int64(v.End())).UTC(), manifest.LiveOptions{})
	}
	// timeShiftBufferDepth (Window segments of SegDur) covers the DVR window.
	segDur := cmp.Or(v.SegDur, v.MaxSegDur, time.Second)
	n := int(math.Ceil(float64(f.To.Sub(f.From))/float64(segDur))) + 1
	return v.MPD(false, o.now(), manifest.LiveOptions{Window: n, TimeURL: dvrTimeURL})
}

// findSpan reads the span; a start before the DVR window with an end after
// the window's start (or none) is moved to the window's start (clamped).
func (o *Origin) findSpan(r *http.Request, prefix string, ts *timeShift) (f *dvr.Found, clamped bool, err error) {
	f, err = o.dvr.Find(r.Context(), prefix, ts.start, ts.end)
	var we *dvr.WindowError
	if errors.As(err, &we) && ts.start.Before(we.From) && (ts.end.IsZero() || ts.end.After(we.From)) {
		f, err = o.dvr.Find(r.Context(), prefix, we.From, ts.end)
		clamped = true
	}
	return f, clamped, err
}

// sendDVR sends a rendered time-shifted manifest through the manifest
// filters (multivariant playlists and MPDs), UTCTiming rewriting, gzip and
// conditional requests, with Cache-Control cc.
func (o *Origin) sendDVR(w http.ResponseWriter, r *http.Request, key string, body []byte, ext, cc string) {
	body, ftag, err := filterManifest(r.URL.RawQuery, body, ext)
	if err != nil {
		var fe *filterError
		if errors.As(err, &fe) {
			o.failWith(w, http.StatusBadRequest, fe.Error())
			return
		}
		o.log.Error("filtering a time-shifted manifest", "key", key, "err", err)
		o.fail(w, http.StatusInternalServerError)
		return
	}
	if ext == ".mpd" {
		if out, ok := rewriteUTCTiming(body, o.publicBase); ok {
			body = out
		}
	}
	h := w.Header()
	if ext == ".mpd" {
		h.Set("Content-Type", "application/dash+xml")
	} else {
		h.Set("Content-Type", "application/vnd.apple.mpegurl")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cc)
	o.sendManifest(w, r, key, body, "dvr"+bodyHash(body)+ftag, time.Time{})
}

// carryQuery appends query to every URI of a multivariant playlist: the
// variant lines and the URI attributes of EXT-X-MEDIA.
func carryQuery(body []byte, query string) []byte {
	lines := strings.Split(string(body), "\n")
	for i, l := range lines {
		switch {
		case l == "":
		case !strings.HasPrefix(l, "#"):
			lines[i] = l + "?" + query
		case strings.HasPrefix(l, "#EXT-X-MEDIA:"):
			if j := strings.Index(l, `URI="`); j >= 0 {
				if k := strings.IndexByte(l[j+5:], '"'); k >= 0 {
					at := j + 5 + k
					lines[i] = l[:at] + "?" + query + l[at:]
				}
			}
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// withStart adds EXT-X-START after the playlist's EXT-X-VERSION (or its
// first line): players begin a time-shifted playlist at its start, where
// they would begin a live one near its end. The offset is 1 ms, not 0 (the
// same first segment): gohlslib (MediaMTX's HLS client) refuses a zero
// TIME-OFFSET as missing.
func withStart(body []byte) []byte {
	const tag = "#EXT-X-START:TIME-OFFSET=0.001\n"
	s := string(body)
	i := strings.IndexByte(s, '\n')
	if v := strings.Index(s, "\n#EXT-X-VERSION:"); v >= 0 {
		if e := strings.IndexByte(s[v+1:], '\n'); e >= 0 {
			i = v + 1 + e
		}
	}
	if i < 0 {
		return body
	}
	out := make([]byte, 0, len(body)+len(tag))
	out = append(out, body[:i+1]...)
	out = append(out, tag...)
	return append(out, body[i+1:]...)
}
