package main

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine/retention"
	"github.com/stevedore-dev/stevedore/engine/schedule"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// retentionConfig is the config file's retention: section.
type retentionConfig struct {
	Interval  duration          `yaml:"interval"`
	Schedule  string            `yaml:"schedule"`
	PullGrace duration          `yaml:"pullGrace"`
	Policies  []retentionPolicy `yaml:"policies"`

	schedule schedule.Schedule
}

// retentionPolicy is one policy (retention.Policy) as the file spells it.
type retentionPolicy struct {
	Repositories     string   `yaml:"repositories"`
	KeepLast         int      `yaml:"keepLast"`
	KeepTags         []string `yaml:"keepTags"`
	KeepSemver       string   `yaml:"keepSemver"`
	KeepPulledWithin duration `yaml:"keepPulledWithin"`
	KeepPushedWithin duration `yaml:"keepPushedWithin"`
	RemoveUntagged   bool     `yaml:"removeUntagged"`
}

func (p retentionPolicy) policy() retention.Policy {
	return retention.Policy{
		Repositories: p.Repositories, KeepLast: p.KeepLast, KeepTags: p.KeepTags, KeepSemver: p.KeepSemver,
		KeepPulledWithin: time.Duration(p.KeepPulledWithin), KeepPushedWithin: time.Duration(p.KeepPushedWithin),
		RemoveUntagged: p.RemoveUntagged,
	}
}

// decodeRetention reads the retention: section:
//
//	retention:
//	  schedule: "30 4 * * *"       # or interval: 24h; neither: on request only (RunRetention)
//	  pullGrace: 15m               # anything pulled this recently stays
//	  policies:                    # the first whose pattern matches governs a repository
//	    - repositories: "ci/**"
//	      keepLast: 10             # a tag stays when any keep rule holds
//	      keepTags: ["^latest$"]
//	      keepPulledWithin: 30d
//	      removeUntagged: true
func decodeRetention(o *serveOptions, n *yaml.Node) error {
	var c retentionConfig
	if err := decodeStrict(n, &c); err != nil {
		return err
	}
	s, err := schedule.Parse(time.Duration(c.Interval), c.Schedule)
	if err != nil {
		return nodeError(n, "%v", err)
	}
	c.schedule = s
	if len(c.Policies) == 0 {
		return nodeError(n, "policies: none given")
	}
	for i, p := range c.Policies {
		rp := p.policy()
		if err := rp.Compile(); err != nil {
			return nodeError(n, "policies[%d]: %v", i, err)
		}
	}
	o.retention = &c
	return nil
}

// retentionSetup is what serve runs for retention: the runner the API and
// the timer share, and the pull log the registry port feeds.
type retentionSetup struct {
	runner  *retention.Runner
	pulls   *retention.PullLog
	metrics *opsMetrics
	log     *zap.Logger
}

// pullLogFile is where the last-pull times live in the data directory.
const pullLogFile = "retention/pulls.json"

// newRetention opens the pull log and builds the runner.
func newRetention(c *retentionConfig, b served.Backend, dataDir string, gcGrace time.Duration, m *opsMetrics, log *zap.Logger) (*retentionSetup, error) {
	pulls, err := retention.OpenPullLog(filepath.Join(dataDir, filepath.FromSlash(pullLogFile)))
	if err != nil {
		return nil, err
	}
	opts := retention.Options{PullGrace: time.Duration(c.PullGrace), Pulls: pulls}
	for _, p := range c.Policies {
		opts.Policies = append(opts.Policies, p.policy())
	}
	r, err := retention.NewRunner(b, opts, c.schedule, gcGrace, time.Now())
	if err != nil {
		return nil, usageError{err}
	}
	return &retentionSetup{runner: r, pulls: pulls, metrics: m, log: log}, nil
}

// Run runs the policies now (service.Retention), logging and counting it.
func (r *retentionSetup) Run(ctx context.Context, dryRun bool) (*retention.Report, error) {
	rep, err := r.runner.Run(ctx, dryRun)
	if dryRun {
		return rep, err
	}
	var busy *schedule.BusyError
	if errors.As(err, &busy) {
		r.log.Info("retention run refused: one is in progress", zap.Time("runningSince", busy.Since))
		return nil, err
	}
	r.metrics.retentionRun(rep, err)
	if err != nil {
		r.log.Warn("retention run failed", zap.Error(err))
		return rep, err
	}
	r.log.Info("retention run", zap.Int("removed", len(rep.Result.Removed)), zap.Int("kept", len(rep.Result.Kept)),
		zap.Int("tagsKept", rep.Plan.TagsKept), zap.Int("skipped", len(rep.Plan.Skipped)),
		zap.Int64("freedBytes", rep.GC.FreedBytes), zap.Duration("duration", rep.Finished.Sub(rep.Started)))
	if err := r.pulls.Flush(); err != nil {
		r.log.Warn("writing the pull log", zap.Error(err))
	}
	return rep, nil
}

// pullFlushInterval is how often recorded pulls are written to disk.
const pullFlushInterval = 30 * time.Second

// loop runs the policies when due and writes the pull log every
// pullFlushInterval, until ctx ends; then writes the log a last time.
func (r *retentionSetup) loop(ctx context.Context) {
	flush := time.NewTicker(pullFlushInterval)
	defer flush.Stop()
	defer func() {
		if err := r.pulls.Flush(); err != nil {
			r.log.Warn("writing the pull log", zap.Error(err))
		}
	}()
	for {
		var due <-chan time.Time
		var t *time.Timer
		if next := r.runner.Next(); !next.IsZero() {
			t = time.NewTimer(time.Until(next))
			due = t.C
		}
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := r.pulls.Flush(); err != nil {
				r.log.Warn("writing the pull log", zap.Error(err))
			}
		case <-due:
			if !time.Now().Before(r.runner.Next()) {
				_, _ = r.Run(ctx, false)
			}
		}
		if t != nil {
			t.Stop()
		}
	}
}

// duration is a duration in the config file: Go's syntax (90m, 1h30m) plus
// days, "30d", which retention ages are usually given in.
type duration time.Duration

// UnmarshalYAML parses the duration.
func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return nodeError(n, "duration %q: want e.g. 90s, 15m, 12h or 30d", n.Value)
	}
	*d = duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, errors.New("bad days")
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	return time.ParseDuration(s)
}
