package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/retention"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// opsMetrics are the Prometheus collectors of what serve runs on its own:
// sync jobs (labelled by job name), retention runs and quotas (by quota
// name). Labels come from the operator's config, never from requests, so
// the series are bounded. Registered with the server's own registry.
type opsMetrics struct {
	syncRuns     *prometheus.CounterVec
	syncRunning  *prometheus.GaugeVec
	syncLast     *prometheus.GaugeVec
	syncLastOK   *prometheus.GaugeVec
	syncDuration *prometheus.GaugeVec
	syncImages   *prometheus.CounterVec
	syncBytes    *prometheus.CounterVec

	retentionRuns    *prometheus.CounterVec
	retentionRemoved *prometheus.CounterVec
	retentionFreed   prometheus.Counter

	quotaDenied *prometheus.CounterVec
}

func newOpsMetrics(reg prometheus.Registerer) (*opsMetrics, error) {
	m := &opsMetrics{
		syncRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_sync_runs_total",
			Help: "Sync job runs by job and result: ok, failed (as a whole or for an image), busy (refused: a run of the job was in progress).",
		}, []string{"job", "result"}),
		syncRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stevedore_sync_running",
			Help: "1 while a run of the sync job is in progress.",
		}, []string{"job"}),
		syncLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stevedore_sync_last_run_timestamp_seconds",
			Help: "When the sync job's last run ended (Unix time).",
		}, []string{"job"}),
		syncLastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stevedore_sync_last_success_timestamp_seconds",
			Help: "When the sync job's last run without a failure ended (Unix time).",
		}, []string{"job"}),
		syncDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stevedore_sync_last_run_duration_seconds",
			Help: "How long the sync job's last run took.",
		}, []string{"job"}),
		syncImages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_sync_images_total",
			Help: "Images the sync job's runs reported, by action: copied, skipped, failed.",
		}, []string{"job", "action"}),
		syncBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_sync_bytes_total",
			Help: "Bytes the sync job's runs wrote into the store.",
		}, []string{"job"}),
		retentionRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_retention_runs_total",
			Help: "Retention runs (not dry runs) by result: ok, error.",
		}, []string{"result"}),
		retentionRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_retention_removed_total",
			Help: "What retention removed, by kind: tag, manifest (untagged).",
		}, []string{"kind"}),
		retentionFreed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stevedore_retention_freed_bytes_total",
			Help: "Disk space the collections after retention runs gave back.",
		}),
		quotaDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stevedore_quota_denied_total",
			Help: "Pushes a quota refused, by quota.",
		}, []string{"quota"}),
	}
	for _, c := range []prometheus.Collector{m.syncRuns, m.syncRunning, m.syncLast, m.syncLastOK, m.syncDuration,
		m.syncImages, m.syncBytes, m.retentionRuns, m.retentionRemoved, m.retentionFreed, m.quotaDenied} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.retentionRuns.WithLabelValues("ok")
	m.retentionRuns.WithLabelValues("error")
	return m, nil
}

// syncJobs gives every job its zero series, so rates exist before the
// first run.
func (m *opsMetrics) syncJobs(jobs []*mirror.Job) {
	for _, j := range jobs {
		for _, r := range []string{"ok", "failed", "busy"} {
			m.syncRuns.WithLabelValues(j.Name, r)
		}
		for _, a := range []string{mirror.ActionCopied, mirror.ActionSkipped, mirror.ActionFailed} {
			m.syncImages.WithLabelValues(j.Name, a)
		}
		m.syncRunning.WithLabelValues(j.Name)
		m.syncBytes.WithLabelValues(j.Name)
	}
}

func (m *opsMetrics) syncStarted(job string) { m.syncRunning.WithLabelValues(job).Set(1) }

func (m *opsMetrics) syncBusy(job string) { m.syncRuns.WithLabelValues(job, "busy").Inc() }

// syncFinished records a run that ended (rec is the job's last run).
func (m *opsMetrics) syncFinished(job string, rec *mirror.RunRecord) {
	m.syncRunning.WithLabelValues(job).Set(0)
	if rec == nil {
		return
	}
	end := float64(rec.Finished.UnixNano()) / 1e9
	m.syncLast.WithLabelValues(job).Set(end)
	m.syncDuration.WithLabelValues(job).Set(rec.Finished.Sub(rec.Started).Seconds())
	result := "ok"
	if rec.Failed() {
		result = "failed"
	} else {
		m.syncLastOK.WithLabelValues(job).Set(end)
	}
	m.syncRuns.WithLabelValues(job, result).Inc()
	if rep := rec.Report; rep != nil {
		m.syncImages.WithLabelValues(job, mirror.ActionCopied).Add(float64(rep.Summary.Copied))
		m.syncImages.WithLabelValues(job, mirror.ActionSkipped).Add(float64(rep.Summary.Skipped))
		m.syncImages.WithLabelValues(job, mirror.ActionFailed).Add(float64(rep.Summary.Failed))
		m.syncBytes.WithLabelValues(job).Add(float64(rep.Summary.Bytes))
	}
}

// retentionRun records a (not dry) retention run.
func (m *opsMetrics) retentionRun(rep *retention.Report, err error) {
	if err != nil {
		m.retentionRuns.WithLabelValues("error").Inc()
	} else {
		m.retentionRuns.WithLabelValues("ok").Inc()
	}
	if rep == nil || rep.Result == nil {
		return
	}
	for _, a := range rep.Result.Removed {
		kind := "tag"
		if a.Tag == "" {
			kind = "manifest"
		}
		m.retentionRemoved.WithLabelValues(kind).Inc()
	}
	if rep.GC != nil {
		m.retentionFreed.Add(float64(rep.GC.FreedBytes))
	}
}

// quotaDeniedHook is QuotaOptions.Denied.
func (m *opsMetrics) quotaDeniedHook(q served.Quota) { m.quotaDenied.WithLabelValues(q.Label()).Inc() }

// quotaCollector reports each quota's bound and use at scrape time
// (sizes are measured at most once per the backend's refresh period).
type quotaCollector struct {
	qb                                   *served.QuotaBackend
	limitBytes, usedBytes, limitRepos, n *prometheus.Desc
}

func newQuotaCollector(qb *served.QuotaBackend, m *opsMetrics) *quotaCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"quota"}, nil)
	}
	for _, q := range qb.Quotas() {
		m.quotaDenied.WithLabelValues(q.Label())
	}
	return &quotaCollector{
		qb:         qb,
		limitBytes: desc("stevedore_quota_limit_bytes", "The quota's bound on bytes (0: none)."),
		usedBytes:  desc("stevedore_quota_used_bytes", "Bytes the quota's repositories hold, each counting every blob it holds once."),
		limitRepos: desc("stevedore_quota_limit_repositories", "The quota's bound on repositories (0: none)."),
		n:          desc("stevedore_quota_repositories", "Repositories the quota covers."),
	}
}

func (c *quotaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.limitBytes
	ch <- c.usedBytes
	ch <- c.limitRepos
	ch <- c.n
}

func (c *quotaCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	usage, err := c.qb.Usage(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.usedBytes, err)
		return
	}
	for _, u := range usage {
		l := u.Label()
		ch <- prometheus.MustNewConstMetric(c.limitBytes, prometheus.GaugeValue, float64(u.MaxBytes), l)
		ch <- prometheus.MustNewConstMetric(c.usedBytes, prometheus.GaugeValue, float64(u.UsedBytes), l)
		ch <- prometheus.MustNewConstMetric(c.limitRepos, prometheus.GaugeValue, float64(u.MaxRepositories), l)
		ch <- prometheus.MustNewConstMetric(c.n, prometheus.GaugeValue, float64(u.RepositoryCount), l)
	}
}
