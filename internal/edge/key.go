package edge

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ospreyvideo/osprey/internal/httpheader"
)

// cacheKey returns the cache key of a request, the escaped path followed by
// the allow-listed query parameters in a canonical order, and the query
// string forwarded to the origin (the same parameters). Everything else in
// the query (signatures, tokens, CMCD, cache busters) is ignored, so it
// never splits the cache. The parameters are sorted, so their order in the
// request does not matter (_HLS_part=2&_HLS_msn=5 is _HLS_msn=5&_HLS_part=2).
func (e *Edge) cacheKey(r *http.Request) (key, query string) {
	p := r.URL.EscapedPath()
	if r.URL.RawQuery == "" || len(e.keyQuery) == 0 {
		return p, ""
	}
	var kept []string
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		name, value, _ := strings.Cut(part, "=")
		n, err := url.QueryUnescape(name)
		if err != nil || !e.keyQuery[n] {
			continue
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			// Not valid percent-encoding: keep the text as it is rather
			// than drop the parameter, which would change what the request
			// asks for (a malformed _HLS_msn would turn a blocking reload
			// into the plain playlist). The origin judges it (400).
			v = value
		}
		kept = append(kept, url.QueryEscape(n)+"="+url.QueryEscape(v))
	}
	if len(kept) == 0 {
		return p, ""
	}
	slices.Sort(kept)
	query = strings.Join(kept, "&")
	return p + "?" + query, query
}

// timeShiftParams are the origin's time-shift parameters
// (origin.TimeShiftParams: ?start= and ?end= select a span of a channel's
// DVR window). Like the LL-HLS directives, the cache key always keeps them
// and they are always forwarded, whatever cache_key_query says: without
// them a time-shifted playlist would be answered with (and cached as) the
// live one.
var timeShiftParams = []string{"start", "end"}

// keyPath is the path part of a cache key.
func keyPath(key string) string {
	if i := strings.IndexAny(key, "?\x00"); i >= 0 {
		return key[:i]
	}
	return key
}

// varyNames lists the header names of a response's Vary header, sorted and
// lower-cased, without duplicates.
func varyNames(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Vary") {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// acceptEncoding normalizes a request's Accept-Encoding to what the edge
// asks the origin for: "gzip" when the client takes gzip, "" otherwise. A
// ranged request always gets the identity encoding, so that byte ranges
// mean the same bytes for every client.
func acceptEncoding(r *http.Request) string {
	if r.Header.Get("Range") == "" && httpheader.AcceptsGzip(r.Header) {
		return "gzip"
	}
	return ""
}
