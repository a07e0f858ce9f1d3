package edge

import (
	"io"
	"net/http"
	"strconv"
	"sync"
)

// HandlerTransport is an http.RoundTripper that serves requests with an
// http.Handler in the same process: the edge inside `osprey serve` reaches
// the local origin this way, without a socket. The response streams: it is
// returned as soon as the handler writes its header, and its body is read
// while the handler writes.
type HandlerTransport struct {
	Handler http.Handler
}

// RoundTrip runs the handler in a goroutine and returns its response.
func (t HandlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeWriter{
		header: http.Header{},
		pw:     pw,
		ready:  make(chan struct{}),
		req:    req,
	}
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	r.RemoteAddr = "127.0.0.1:0"
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	go func() {
		defer func() {
			// A handler that panics (http.ErrAbortHandler or worse) ends
			// its response as a broken one, as the HTTP server would.
			if p := recover(); p != nil {
				w.WriteHeader(http.StatusInternalServerError) // no-op if written
				pw.CloseWithError(io.ErrUnexpectedEOF)
			}
		}()
		t.Handler.ServeHTTP(w, r)
		w.WriteHeader(http.StatusOK) // no-op if written
		pw.Close()
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	resp := w.resp
	resp.Body = &pipeBody{pr: pr}
	return resp, nil
}

// pipeWriter is the handler's ResponseWriter.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	req    *http.Request
	once   sync.Once
	ready  chan struct{}
	resp   *http.Response
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		h := w.header.Clone()
		cl := int64(-1)
		if v := h.Get("Content-Length"); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				cl = n
			}
		}
		if w.req.Method == http.MethodHead || code == http.StatusNotModified || code == http.StatusNoContent {
			cl = max(cl, 0)
		}
		w.resp = &http.Response{
			Status:        strconv.Itoa(code) + " " + http.StatusText(code),
			StatusCode:    code,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        h,
			ContentLength: cl,
			Request:       w.req,
		}
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	return w.pw.Write(p)
}

func (w *pipeWriter) Flush() {}

// pipeBody closes the pipe's read side, which makes the handler's writes
// fail so that it stops.
type pipeBody struct{ pr *io.PipeReader }

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }
func (b *pipeBody) Close() error               { return b.pr.CloseWithError(io.ErrClosedPipe) }
