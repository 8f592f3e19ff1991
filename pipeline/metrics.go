package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus metrics: time per stage, time from
// Emit to acknowledgement, leads filed, posts indexed and, once a pipeline
// runs with them, the depth of its queues. They are registered on the
// registry given to NewMetrics, so a process exports them with its own.
type Metrics struct {
	reg prometheus.Registerer

	stageSeconds    *prometheus.HistogramVec // stage
	pipelineLatency prometheus.Histogram
	leadsFiled      *prometheus.CounterVec // category, level, outcome
	postsByLevel    *prometheus.CounterVec // level
}

// NewMetrics makes the pipeline's metrics and registers them on reg. One
// Metrics serves one pipeline: a second would register its queue depths
// twice.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		stageSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "riskmine_stage_duration_seconds",
			Help:    "Time a page spends in one pipeline stage (analyze, file, index, archive).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"stage"}),
		pipelineLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "riskmine_pipeline_duration_seconds",
			Help:    "Time from a page being handed to the pipeline to it being indexed and filed, queueing included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}),
		leadsFiled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskmine_leads_filed_total",
			Help: "Posts filed as leads, by top category, level and outcome (created, joined, duplicate).",
		}, []string{"category", "level", "outcome"}),
		postsByLevel: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskmine_posts_indexed_total",
			Help: "Posts analysed and indexed, by risk level.",
		}, []string{"level"}),
	}
	reg.MustRegister(m.stageSeconds, m.pipelineLatency, m.leadsFiled, m.postsByLevel)
	return m
}

// ObserveStage records the time one page spent in a stage.
func (m *Metrics) ObserveStage(stage string, d time.Duration) {
	m.stageSeconds.WithLabelValues(stage).Observe(d.Seconds())
}

// queueDepth exports the length of a pipeline queue.
func (m *Metrics) queueDepth(queue string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "riskmine_queue_depth",
		Help:        "Pages waiting in a pipeline queue.",
		ConstLabels: prometheus.Labels{"queue": queue},
	}, f))
}
