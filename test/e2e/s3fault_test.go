package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// s3Fault is a reverse proxy in front of an S3 server that refuses writes
// on demand, as S3 does when it throttles: while refusing is set, every
// PUT, POST and DELETE gets 503 with an S3 SlowDown error document (which
// the AWS SDK treats as throttling and retries); reads always pass. It
// passes the client's Host header on, so that SigV4 signatures still
// match.
type s3Fault struct {
	URL      string // "http://127.0.0.1:PORT", the endpoint to give osprey
	refusing atomic.Bool
	refused  atomic.Int64 // writes refused so far
	passed   atomic.Int64 // requests passed to the server
}

// startS3Fault starts the proxy in front of the S3 endpoint target
// ("http://HOST:PORT"); it stops when the test ends.
func startS3Fault(t *testing.T, target string) *s3Fault {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &s3Fault{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.refusing.Load() && isWrite(r.Method) {
			f.refused.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
				`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>`+
				`<Resource>%s</Resource><RequestId>e2e-fault-%d</RequestId></Error>`, r.URL.Path, f.refused.Load())
			return
		}
		f.passed.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func isWrite(method string) bool {
	return method == http.MethodPut || method == http.MethodPost || method == http.MethodDelete
}
