package httpguard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// deadlineRecorder is a ResponseWriter with deadlines, like net/http's.
type deadlineRecorder struct {
	h http.Header
}

func (d *deadlineRecorder) Header() http.Header              { return d.h }
func (d *deadlineRecorder) Write(b []byte) (int, error)      { return len(b), nil }
func (d *deadlineRecorder) WriteHeader(int)                  {}
func (d *deadlineRecorder) SetReadDeadline(time.Time) error  { return nil }
func (d *deadlineRecorder) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkWrapMedia is a media hit through the whole guard (headers,
// access rules, rate limit, progress deadlines) with the limiter on or off.
func BenchmarkWrapMedia(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "limiter-off"
		if on {
			name = "limiter-on"
		}
		b.Run(name, func(b *testing.B) {
			o := testOptions()
			o.RateLimits = map[Class]RateLimit{ClassMedia: {}}
			if on {
				o.RateLimits[ClassMedia] = RateLimit{Rate: 1e6, Burst: 1e6}
			}
			g, err := New(o, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			body := make([]byte, 1024)
			h := g.Wrap(func(*http.Request) Class { return ClassMedia }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(body)
			}))
			r := httptest.NewRequest("GET", "/vod/a/seg.m4s", nil)
			r.RemoteAddr = "192.0.2.1:1234"
			w := &deadlineRecorder{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}
