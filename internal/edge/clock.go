package edge

import "net/http"

// timePath is the origin's clock for DASH players (UTCTiming
// urn:mpeg:dash:utc:http-iso:2014). The origin writes it into MPDs as a
// root-relative URL, which players resolve against the MPD's URL: the
// edge's. So the edge passes it through to the origin, uncached (a clock
// served from a cache is wrong by the object's age), without collapsing
// requests and without asking for a signature (it reveals nothing, and
// players cannot add URL signatures to it).
const timePath = "/time"

// serveTime proxies /time to the first origin that is up.
func (e *Edge) serveTime(w http.ResponseWriter, r *http.Request) {
	rec := e.begin(w, r)
	defer e.end(rec)
	rec.cache = statusBypass
	e.timeProxy.ServeHTTP(rec, r)
}
