package mirror

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/schedule"
)

// What started a Job's run.
const (
	TriggerSchedule = "schedule"
	TriggerAPI      = "api"
)

// Job is a mirror config that a server runs by name, on a schedule and on
// request (serve's sync: section). Its runs never overlap: a run asked for
// while one is in progress is refused (*schedule.BusyError). It keeps the
// last run's report, which is what status calls show. Job starts nothing
// itself: the server's timer calls Run when Next comes.
type Job struct {
	// Name identifies the job in the API and in metrics.
	Name string
	// Config is the mirror run, validated by NewJob.
	Config *Config
	// Schedule says when the job runs on its own.
	Schedule schedule.Schedule
	// Policy, if set, is checked for every image (Options.Policy).
	Policy *policy.Policy

	guard *schedule.Guard

	mu       sync.Mutex
	last     *RunRecord
	runs     int
	failures int
}

// RunRecord is one run of a Job.
type RunRecord struct {
	Trigger  string    `json:"trigger"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Report is the mirror report; nil when the run could not start.
	Report *Report `json:"report,omitempty"`
	// Error says why the run failed as a whole (a registry it may not
	// reach, a cancelled context); image failures are in Report.
	Error string `json:"error,omitempty"`
}

// Failed reports whether the run failed, as a whole or for any image.
func (r *RunRecord) Failed() bool { return r.Error != "" || (r.Report != nil && r.Report.Failed()) }

// JobStatus is a Job as status calls show it.
type JobStatus struct {
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	Running  bool   `json:"running"`
	// RunningSince is when the run in progress started.
	RunningSince time.Time `json:"runningSince,omitzero"`
	// Next is when the job runs on its own next (zero: on request only;
	// while it runs, counted from now as if the run ended now).
	Next time.Time `json:"next,omitzero"`
	// Runs and Failures count the runs since the server started.
	Runs     int        `json:"runs"`
	Failures int        `json:"failures"`
	Last     *RunRecord `json:"last,omitempty"`
	// Destinations are the repositories the job writes.
	Destinations []string `json:"destinations"`
}

// NewJob validates cfg and returns the job, whose schedule counts from now.
func NewJob(name string, cfg *Config, s schedule.Schedule, pol *policy.Policy, now time.Time) (*Job, error) {
	if name == "" {
		return nil, fmt.Errorf("sync job: a name is required: %w", errdef.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sync job %s: %w", name, err)
	}
	return &Job{Name: name, Config: cfg, Schedule: s, Policy: pol, guard: schedule.NewGuard("sync job "+name, now)}, nil
}

// Run runs the job now unless it is running already (*schedule.BusyError,
// errdef.ErrUnavailable), reporting each image to progress (which may be
// nil) as it finishes. The error is the run's as a whole; image failures
// are in the report.
func (j *Job) Run(ctx context.Context, eng *engine.Engine, trigger string, progress func(ImageReport)) (*Report, error) {
	start := time.Now()
	end, err := j.guard.Begin(start)
	if err != nil {
		return nil, err
	}
	rep, err := Run(ctx, eng, j.Config, Options{Policy: j.Policy, Progress: progress})
	rec := &RunRecord{Trigger: trigger, Started: start, Finished: time.Now(), Report: rep}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		rec.Error = err.Error()
	}
	j.mu.Lock()
	j.last = rec
	j.runs++
	if rec.Failed() {
		j.failures++
	}
	j.mu.Unlock()
	end(rec.Finished)
	return rep, err
}

// Next returns when the job is next due on its own; zero for a job run on
// request only.
func (j *Job) Next() time.Time {
	if j.Schedule.IsZero() {
		return time.Time{}
	}
	running, _, ended := j.guard.State()
	if running {
		ended = time.Now()
	}
	return j.Schedule.Next(ended)
}

// Status describes the job now.
func (j *Job) Status() JobStatus {
	running, since, _ := j.guard.State()
	st := JobStatus{Name: j.Name, Schedule: j.Schedule.String(), Running: running, Next: j.Next(), Destinations: j.Destinations()}
	if running {
		st.RunningSince = since
	}
	j.mu.Lock()
	st.Runs, st.Failures, st.Last = j.runs, j.failures, j.last
	j.mu.Unlock()
	return st
}

// Destinations returns the destination repositories of j's sources, sorted:
// what a caller must be allowed to push to for the job to run as them.
func (j *Job) Destinations() []string { return j.Config.Destinations() }

// Destinations returns the destination repository names the config's
// sources map to (a repository source maps as a whole; each explicit image
// by its own repository), sorted and without duplicates. Call it after
// Validate.
func (c *Config) Destinations() []string {
	var out []string
	for _, s := range c.Sources {
		dest := merged(c.Destination, s.Destination)
		var repos []string
		if s.Repository != "" {
			if r, err := parseRepository(s.Repository); err == nil {
				repos = append(repos, r.Repository)
			}
		}
		for _, im := range s.Images {
			if r, err := parseImage(im); err == nil {
				repos = append(repos, r.Repository)
			}
		}
		for _, repo := range repos {
			if d, err := dest.Map(repo); err == nil {
				out = append(out, d.Repository)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
