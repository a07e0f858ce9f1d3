package s3test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// Fault is a reverse proxy in front of a Server that refuses writes on
// demand, as S3 does when it throttles (503 SlowDown) or fails (500
// InternalError): while refusing, PUT, POST and DELETE get the status with
// an S3 error document, which the AWS SDK treats as retryable; reads
// always pass. The client's Host header goes on unchanged, so SigV4
// signatures still match. Give its URL as the endpoint.
type Fault struct {
	URL string // "http://127.0.0.1:PORT"

	remaining atomic.Int64 // writes still to refuse
	status    atomic.Int64
	refused   atomic.Int64
}

// StartFault starts a Fault in front of srv, passing everything; it stops
// when the test ends.
func (srv *Server) StartFault(t testing.TB) *Fault {
	t.Helper()
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fault{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWrite(r.Method) && f.take() {
			n := f.refused.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			status := int(f.status.Load())
			code, msg := "InternalError", "We encountered an internal error. Please try again."
			if status == http.StatusServiceUnavailable {
				code, msg = "SlowDown", "Please reduce your request rate."
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
				`<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>s3test-fault-%d</RequestId></Error>`,
				code, msg, r.URL.Path, n)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	f.URL = ts.URL
	return f
}

// Refuse makes the next n writes fail with status (503: SlowDown, else
// InternalError); n < 0 refuses every write until Accept.
func (f *Fault) Refuse(status, n int) {
	f.status.Store(int64(status))
	if n < 0 {
		f.remaining.Store(math.MaxInt64)
		return
	}
	f.remaining.Store(int64(n))
}

// Accept lets every write through again.
func (f *Fault) Accept() { f.remaining.Store(0) }

// Refused is how many writes were refused so far.
func (f *Fault) Refused() int64 { return f.refused.Load() }

// take reports whether this write is to be refused, counting it.
func (f *Fault) take() bool {
	for {
		n := f.remaining.Load()
		if n <= 0 {
			return false
		}
		if f.remaining.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func isWrite(method string) bool {
	return method == http.MethodPut || method == http.MethodPost || method == http.MethodDelete
}
