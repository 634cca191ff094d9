package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/schedule"
)

// syncJobConfig is one entry of the config file's sync: section: a mirror
// config, in the schema `stevedore mirror` reads, with a name and a
// schedule. Its destination registry may be left out: it is this server,
// whose store the job writes directly.
type syncJobConfig struct {
	Name     string   `yaml:"name"`
	Interval duration `yaml:"interval"`
	Schedule string   `yaml:"schedule"`
	// Mirror is everything else: sources, tag filters, platforms,
	// referrers, destination mapping, concurrency.
	Mirror mirror.Config `yaml:",inline"`

	schedule schedule.Schedule
}

// jobNameRE keeps job names fit for a REST path and a metric label.
var jobNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// placeholderRegistry stands for this server in a job's destination while
// the config is checked, before the listener's address is known.
const placeholderRegistry = "stevedore.invalid"

// decodeSync reads the sync: section:
//
//	sync:
//	  - name: hub-nightly          # [a-z0-9._-], unique
//	    schedule: "0 3 * * *"      # cron (5 fields or @daily); or interval: 6h
//	    destination: {prefix: mirror}
//	    sources:
//	      - repository: registry-1.docker.io/library/alpine
//	        tags: {semver: ">= 3.19"}
func decodeSync(o *serveOptions, n *yaml.Node) error {
	var jobs []syncJobConfig
	if err := decodeStrict(n, &jobs); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range jobs {
		j := &jobs[i]
		at := n.Content[i]
		switch {
		case !jobNameRE.MatchString(j.Name):
			return nodeError(at, "[%d]: name %q: want 1 to 63 of a-z 0-9 . _ - (a REST path segment and a metric label)", i, j.Name)
		case seen[j.Name]:
			return nodeError(at, "[%d]: name %q is given twice", i, j.Name)
		}
		seen[j.Name] = true
		s, err := schedule.Parse(time.Duration(j.Interval), j.Schedule)
		if err != nil {
			return nodeError(at, "%s: %v", j.Name, err)
		}
		j.schedule = s
		check := withDestination(j.Mirror, placeholderRegistry)
		if err := check.Validate(); err != nil {
			return nodeError(at, "%s: %v", j.Name, err)
		}
	}
	o.syncJobs = jobs
	return nil
}

// withDestination returns cfg with every destination that names no registry
// naming host.
func withDestination(cfg mirror.Config, host string) mirror.Config {
	if cfg.Destination.Registry == "" {
		cfg.Destination.Registry = host
	}
	cfg.Sources = slices.Clone(cfg.Sources)
	return cfg
}

// buildSyncJobs makes the configured jobs, writing to this server's store:
// a destination naming no registry names host (the registry listener), one
// naming another must be one of the server's own names (served).
func buildSyncJobs(cfgs []syncJobConfig, configFile, host string, served func(string) bool, now time.Time) ([]*mirror.Job, error) {
	var jobs []*mirror.Job
	for _, c := range cfgs {
		cfg := withDestination(c.Mirror, host)
		for _, d := range append([]string{cfg.Destination.Registry}, sourceRegistries(cfg)...) {
			if !served(d) {
				return nil, usageError{fmt.Errorf("sync job %s: destination registry %s is not this server's (leave it out to write this server's store)", c.Name, d)}
			}
		}
		var pol *policy.Policy
		if p := cfg.VerifyPolicy; p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(configFile), p)
			}
			var err error
			if pol, err = policy.Load(p, policyVerifiers); err != nil {
				return nil, usageError{fmt.Errorf("sync job %s: verifyPolicy: %w", c.Name, err)}
			}
		}
		job, err := mirror.NewJob(c.Name, &cfg, c.schedule, pol, now)
		if err != nil {
			return nil, usageError{err}
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// sourceRegistries returns the destination registries sources set
// themselves.
func sourceRegistries(cfg mirror.Config) []string {
	var out []string
	for _, s := range cfg.Sources {
		if s.Destination.Registry != "" {
			out = append(out, s.Destination.Registry)
		}
	}
	return out
}

// syncRunner runs the sync jobs, on their schedules (loop) and when the API
// asks (service.SyncJobs), with the server's own engine, logging and
// counting every run.
type syncRunner struct {
	jobs    []*mirror.Job
	eng     *engine.Engine
	metrics *opsMetrics
	log     *zap.Logger
}

// Jobs returns the jobs in config order.
func (s *syncRunner) Jobs() []*mirror.Job { return s.jobs }

// Run runs job now, unless a run of it is in progress.
func (s *syncRunner) Run(ctx context.Context, job *mirror.Job, trigger string, progress func(mirror.ImageReport)) (*mirror.Report, error) {
	s.metrics.syncStarted(job.Name)
	rep, err := job.Run(ctx, s.eng, trigger, progress)
	var busy *schedule.BusyError
	if errors.As(err, &busy) {
		s.metrics.syncBusy(job.Name)
		s.log.Info("sync run refused: one is in progress", zap.String("job", job.Name), zap.String("trigger", trigger), zap.Time("runningSince", busy.Since))
		return nil, err
	}
	st := job.Status()
	s.metrics.syncFinished(job.Name, st.Last)
	fields := []zap.Field{zap.String("job", job.Name), zap.String("trigger", trigger),
		zap.Time("started", st.Last.Started), zap.Time("finished", st.Last.Finished), zap.Duration("duration", st.Last.Finished.Sub(st.Last.Started))}
	if rep != nil {
		fields = append(fields, zap.Int("images", rep.Summary.Images), zap.Int("copied", rep.Summary.Copied),
			zap.Int("skipped", rep.Summary.Skipped), zap.Int("failed", rep.Summary.Failed), zap.Int64("bytes", rep.Summary.Bytes))
	}
	switch {
	case err != nil:
		s.log.Warn("sync run failed", append(fields, zap.Error(err))...)
	case rep.Failed():
		s.log.Warn("sync run", fields...)
	default:
		s.log.Info("sync run", fields...)
	}
	return rep, err
}

// loop runs job each time it is due, until ctx ends. A run the API started
// meanwhile moves the next one (schedules count from the end of the last
// run), and one still going when the time comes is not overlapped: the
// timer's run is refused and the schedule counts on from that run's end.
func (s *syncRunner) loop(ctx context.Context, job *mirror.Job) {
	for {
		next := job.Next()
		if next.IsZero() {
			return
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if time.Now().Before(job.Next()) {
			continue // an API run moved it
		}
		_, _ = s.Run(ctx, job, mirror.TriggerSchedule, nil)
	}
}
