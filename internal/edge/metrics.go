package edge

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the edge's Prometheus series (prefix osprey_edge_).
type metrics struct {
	requests       *prometheus.CounterVec   // by cache outcome
	bytes          *prometheus.CounterVec   // body bytes sent, by cache outcome
	duration       *prometheus.HistogramVec // time to first byte, by cache outcome
	collapsed      prometheus.Counter
	blocking       *prometheus.CounterVec   // LL-HLS blocking reloads from viewers, by cache outcome
	blockingOrigin prometheus.Counter       // LL-HLS blocking reloads sent to an origin
	originRequests *prometheus.CounterVec   // by origin and status class ("error")
	originLatency  *prometheus.HistogramVec // time to response headers, by origin
	failovers      *prometheus.CounterVec   // by origin left and reason
	stale          *prometheus.CounterVec   // served stale because of "error" or "5xx"
	denied         *prometheus.CounterVec   // signature rejections by reason
	invalidated    prometheus.Counter
	events         *prometheus.CounterVec    // invalidation events by result
	byOutcome      map[string]outcomeMetrics // the series of each cache outcome, resolved once
	collectors     []prometheus.Collector
	handler        http.Handler
}

func newMetrics(e *Edge) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_requests_total", Help: "Viewer requests by cache outcome.",
		}, []string{"cache"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_response_bytes_total", Help: "Body bytes sent to viewers by cache outcome.",
		}, []string{"cache"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "osprey_edge_ttfb_seconds",
			Help:    "Time from the request to the first response byte, by cache outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"cache"}),
		collapsed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "osprey_edge_collapsed_requests_total", Help: "Misses that joined another viewer's origin request.",
		}),
		blocking: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_blocking_reloads_total",
			Help: "LL-HLS blocking playlist reloads (_HLS_msn) from viewers, by cache outcome; osprey_edge_blocking_origin_requests_total over their sum is the origin requests per viewer request.",
		}, []string{"cache"}),
		blockingOrigin: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "osprey_edge_blocking_origin_requests_total", Help: "LL-HLS blocking playlist reloads sent to an origin (every attempt).",
		}),
		originRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_origin_requests_total", Help: "Origin requests by origin and result (2xx..5xx, error).",
		}, []string{"origin", "result"}),
		originLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "osprey_edge_origin_response_seconds",
			Help:    "Time to an origin's response headers.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"origin"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_origin_failovers_total", Help: "Requests moved past an origin, by origin and reason.",
		}, []string{"origin", "reason"}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_stale_served_total", Help: "Expired objects served because the origins failed, by reason.",
		}, []string{"reason"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_signature_rejections_total", Help: "Requests refused on protected paths, by reason.",
		}, []string{"reason"}),
		invalidated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "osprey_edge_invalidated_objects_total", Help: "Objects removed by invalidations.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_edge_invalidation_events_total",
			Help: "Invalidations shared over the event bus: published, publish_failed, applied (from another node), duplicate, invalid.",
		}, []string{"result"}),
	}
	m.byOutcome = map[string]outcomeMetrics{}
	for _, c := range []string{statusHit, statusMiss, statusPass, statusRevalidated, statusUpdating,
		statusStale, statusBypass, statusDenied, statusError, statusRejected} {
		m.byOutcome[c] = outcomeMetrics{
			requests: m.requests.WithLabelValues(c),
			bytes:    m.bytes.WithLabelValues(c),
			ttfb:     m.duration.WithLabelValues(c),
		}
	}
	m.collectors = append(m.collectors,
		m.requests, m.bytes, m.duration, m.collapsed, m.blocking, m.blockingOrigin, m.originRequests, m.originLatency,
		m.failovers, m.stale, m.denied, m.invalidated, m.events,
	)
	for _, o := range e.origins {
		m.collectors = append(m.collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "osprey_edge_origin_up", Help: "1 when the origin is in use, 0 while it is skipped after failing.",
			ConstLabels: prometheus.Labels{"origin": o.name},
		}, func() float64 {
			if o.up(e.now()) {
				return 1
			}
			return 0
		}))
	}
	stat := func(name, help, tier string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"tier": tier}}, f)
	}
	m.collectors = append(m.collectors,
		stat("osprey_edge_cache_bytes", "Bytes held by a cache tier.", "memory", func() float64 { return float64(e.cache.Stats().MemoryBytes) }),
		stat("osprey_edge_cache_bytes", "Bytes held by a cache tier.", "disk", func() float64 { return float64(e.cache.Stats().DiskBytes) }),
		stat("osprey_edge_cache_objects", "Objects held by a cache tier.", "memory", func() float64 { return float64(e.cache.Stats().MemoryObjects) }),
		stat("osprey_edge_cache_objects", "Objects held by a cache tier.", "disk", func() float64 { return float64(e.cache.Stats().DiskObjects) }),
		stat("osprey_edge_cache_limit_bytes", "Budget of a cache tier.", "memory", func() float64 { return float64(e.cache.Stats().MemoryLimit) }),
		stat("osprey_edge_cache_limit_bytes", "Budget of a cache tier.", "disk", func() float64 { return float64(e.cache.Stats().DiskLimit) }),
	)
	return m
}

func (m *metrics) register(reg *prometheus.Registry) error {
	for _, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return nil
}

// outcomeMetrics are the per-request series of one cache outcome.
type outcomeMetrics struct {
	requests prometheus.Counter
	bytes    prometheus.Counter
	ttfb     prometheus.Observer
}

func (m *metrics) request(rec *record) {
	om, ok := m.byOutcome[rec.cache]
	if !ok {
		om = outcomeMetrics{m.requests.WithLabelValues(rec.cache), m.bytes.WithLabelValues(rec.cache), m.duration.WithLabelValues(rec.cache)}
	}
	om.requests.Inc()
	om.bytes.Add(float64(rec.bytes))
	om.ttfb.Observe(rec.firstByte.Seconds())
	if rec.collapsed {
		m.collapsed.Inc()
	}
	if rec.blocking {
		m.blocking.WithLabelValues(rec.cache).Inc()
	}
}

// originResult counts an origin request and its time to response headers;
// the time of a held one (a blocking reload) is the hold, not a latency, and
// is left out of the histogram.
func (m *metrics) originResult(origin, result string, elapsed time.Duration, held bool) {
	m.originRequests.WithLabelValues(origin, result).Inc()
	if !held {
		m.originLatency.WithLabelValues(origin).Observe(elapsed.Seconds())
	}
}

func (m *metrics) originFailover(origin, reason string) {
	m.failovers.WithLabelValues(origin, reason).Inc()
}
