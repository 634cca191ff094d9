package retention

import (
	"context"
	"time"

	"github.com/stevedore-dev/stevedore/engine/schedule"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// Runner runs a server's retention: on its schedule and on request, one
// run at a time, each followed by a collection that frees what the
// removals left unreferenced. It starts nothing itself: the server's timer
// calls Run when Next comes.
type Runner struct {
	backend  served.Backend
	opts     Options
	gcGrace  time.Duration
	schedule schedule.Schedule
	guard    *schedule.Guard
}

// NewRunner returns the runner of opts's policies over b, collecting with
// grace gcGrace (<= 0: served.DefaultGCGrace) after each run. The
// policies are checked now.
func NewRunner(b served.Backend, opts Options, s schedule.Schedule, gcGrace time.Duration, now time.Time) (*Runner, error) {
	for i := range opts.Policies {
		if err := opts.Policies[i].Compile(); err != nil {
			return nil, err
		}
	}
	return &Runner{backend: b, opts: opts, gcGrace: gcGrace, schedule: s, guard: schedule.NewGuard("retention", now)}, nil
}

// Report is a run of the policies.
type Report struct {
	DryRun   bool      `json:"dryRun"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Plan is what the policies select.
	Plan *Plan `json:"plan"`
	// Result is what was done with the plan; nil in a dry run.
	Result *Result `json:"result,omitempty"`
	// GC is the collection that followed; nil in a dry run.
	GC *served.GCReport `json:"gc,omitempty"`
}

// Run evaluates the policies and, unless dryRun, applies them and collects
// garbage. A real run is refused while another is in progress
// (*schedule.BusyError); a dry run removes nothing and is never refused.
func (r *Runner) Run(ctx context.Context, dryRun bool) (*Report, error) {
	rep := &Report{DryRun: dryRun, Started: time.Now()}
	if !dryRun {
		end, err := r.guard.Begin(rep.Started)
		if err != nil {
			return nil, err
		}
		defer func() { end(time.Now()) }()
	}
	opts := r.opts
	opts.Now = rep.Started
	plan, err := Evaluate(ctx, r.backend, opts)
	if err != nil {
		return nil, err
	}
	rep.Plan = plan
	if dryRun {
		rep.Finished = time.Now()
		return rep, nil
	}
	res, err := Apply(ctx, r.backend, plan, opts)
	rep.Result = res
	if err != nil {
		return rep, err
	}
	gc, err := r.backend.GC(ctx, served.GCOptions{Grace: r.gcGrace})
	if err != nil {
		return rep, err
	}
	rep.GC = &gc
	rep.Finished = time.Now()
	return rep, nil
}

// Next returns when the runner is next due on its own; zero when it runs
// on request only.
func (r *Runner) Next() time.Time {
	if r.schedule.IsZero() {
		return time.Time{}
	}
	running, _, ended := r.guard.State()
	if running {
		ended = time.Now()
	}
	return r.schedule.Next(ended)
}

// Schedule is the runner's schedule.
func (r *Runner) Schedule() schedule.Schedule { return r.schedule }
