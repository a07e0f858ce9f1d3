package origin

import (
	"net/http"
	"strconv"
)

// timeLayout is xs:dateTime in UTC with milliseconds, as DASH's
// urn:mpeg:dash:utc:http-iso:2014 clients parse it.
const timeLayout = "2006-01-02T15:04:05.000Z"

// TimeHandler serves the server's current UTC time for DASH clock
// synchronisation (GET /time): "2026-11-21T14:00:00.123Z" as text/plain,
// never cached, with the CORS headers of media responses.
func (o *Origin) TimeHandler() http.Handler {
	return http.HandlerFunc(o.serveTime)
}

func (o *Origin) serveTime(w http.ResponseWriter, r *http.Request) {
	o.setCORS(w.Header())
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		o.preflight(w, r)
		return
	default:
		w.Header().Set("Allow", allowMethods)
		o.fail(w, http.StatusMethodNotAllowed)
		return
	}
	body := o.now().UTC().Format(timeLayout)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(body))
}
