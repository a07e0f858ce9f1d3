package edge

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
)

// newBypass returns the handler for requests the cache does not answer
// (other methods, requests with credentials, bodies too large to share):
// a plain reverse proxy to the first origin that is up, with the origin
// header added. No failover: such requests may not be idempotent.
func (e *Edge) newBypass() http.Handler { return e.newPassThrough(nil) }

// newTimeProxy returns the handler of the origin's clock: a pass-through
// whose answers no cache may keep.
func (e *Edge) newTimeProxy() http.Handler {
	return e.newPassThrough(func(h http.Header) {
		h.Set("Cache-Control", "no-store")
		h.Del("Expires")
		h.Del("Age")
	})
}

// newPassThrough returns a reverse proxy to the first origin up; fix, when
// set, edits the response's header.
func (e *Edge) newPassThrough(fix func(http.Header)) http.Handler {
	return &httputil.ReverseProxy{
		Transport: e.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			o := e.order(e.now())[0]
			pr.SetURL(o.base)
			pr.SetXForwarded()
			pr.Out.Header.Set("Via", e.via)
			for k, v := range e.cfg.OriginHeader {
				pr.Out.Header[k] = v
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if fix != nil {
				fix(resp.Header)
			}
			e.addTrace(resp.Header, e.cfg.Name+"; fwd=bypass")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if rec, ok := w.(*record); ok {
				e.originFailed(rec, &originError{origin: e.order(e.now())[0].name, err: err})
				return
			}
			http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		},
		ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
}
