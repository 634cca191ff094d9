package registryhttp

import (
	"github.com/prometheus/client_golang/prometheus"
)

// proxyCollector exports the pull-through cache's counters, one series per
// upstream (labelled by prefix, a closed set from the configuration), read
// from the cache at each scrape.
type proxyCollector struct {
	p                            *Proxy
	hits, misses, bytes, failure *prometheus.Desc
}

// RegisterProxyMetrics registers the cache counters of p with reg:
// stevedore_cache_hits_total, stevedore_cache_misses_total,
// stevedore_cache_upstream_bytes_total and
// stevedore_cache_upstream_errors_total, by upstream.
func RegisterProxyMetrics(reg prometheus.Registerer, p *Proxy) error {
	label := []string{"upstream"}
	return reg.Register(&proxyCollector{
		p:       p,
		hits:    prometheus.NewDesc("stevedore_cache_hits_total", "Pull-through requests the store answered without the upstream's bytes (a revalidated tag included), by upstream prefix.", label, nil),
		misses:  prometheus.NewDesc("stevedore_cache_misses_total", "Pull-through requests that needed the upstream's bytes (a reader sharing another's fetch included), by upstream prefix.", label, nil),
		bytes:   prometheus.NewDesc("stevedore_cache_upstream_bytes_total", "Blob and manifest bytes read from the upstream, by upstream prefix.", label, nil),
		failure: prometheus.NewDesc("stevedore_cache_upstream_errors_total", "Failed upstream requests (stale answers included), by upstream prefix.", label, nil),
	})
}

func (c *proxyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.misses
	ch <- c.bytes
	ch <- c.failure
}

func (c *proxyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.p.c.Stats() {
		ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits), s.Prefix)
		ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses), s.Prefix)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(s.Bytes), s.Prefix)
		ch <- prometheus.MustNewConstMetric(c.failure, prometheus.CounterValue, float64(s.Errors), s.Prefix)
	}
}
