package httpguard

import "github.com/prometheus/client_golang/prometheus"

// Reasons a request is refused, in osprey_http_refused_total.
const (
	reasonAccess = iota
	reasonRate
	reasonSize
	numReasons
)

var reasonNames = [numReasons]string{"access", "rate_limit", "too_large"}

// metrics count what the guard refuses; the counters are resolved up front
// so that counting costs no label lookup.
type metrics struct {
	requests    *prometheus.CounterVec
	connections *prometheus.CounterVec
	byClass     [numClasses][numReasons]prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_http_refused_total",
			Help: "HTTP requests refused by the front door, by route class and reason (access, rate_limit, too_large).",
		}, []string{"class", "reason"}),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "osprey_http_connections_refused_total",
			Help: "HTTP connections closed at accept, by cap (max_connections, max_connections_per_ip).",
		}, []string{"reason"}),
	}
	for c := range numClasses {
		for r := range numReasons {
			m.byClass[c][r] = m.requests.WithLabelValues(c.String(), reasonNames[r])
		}
	}
	return m
}

func (m *metrics) refused(c Class, reason int) { m.byClass[c][reason].Inc() }

// Register adds the guard's counters to reg.
func (g *Guard) Register(reg prometheus.Registerer) error {
	if err := reg.Register(g.metrics.requests); err != nil {
		return err
	}
	return reg.Register(g.metrics.connections)
}
