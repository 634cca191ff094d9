// Package schedule says when a recurring job of stevedore serve (a sync
// job, a retention run) is due: every fixed interval after the previous run
// ends, or at the times a cron expression names. It computes times only;
// the serving process owns the timers that wait for them, and Guard keeps
// two runs of one job from ever overlapping.
package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Schedule is when a job runs: Interval after its last run ended, or at the
// times of Cron. The zero value never runs on its own (on demand only).
type Schedule struct {
	// Interval is the pause between the end of one run and the start of
	// the next; the gap, not the period, so a run longer than the interval
	// delays the next instead of overlapping it.
	Interval time.Duration
	// Cron is the expression, in the standard five fields (minute hour
	// day-of-month month day-of-week) or a descriptor such as "@daily";
	// times are in the server's local time zone unless it starts with
	// CRON_TZ=.
	Cron string

	cron cron.Schedule
}

// parser reads the standard five-field syntax crontab(5) users know, plus
// the @daily-style descriptors.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse builds a Schedule from an interval (0: none) and a cron expression
// (empty: none); at most one may be given. Errors match errdef.ErrInvalid.
func Parse(interval time.Duration, expr string) (Schedule, error) {
	s := Schedule{Interval: interval, Cron: expr}
	switch {
	case interval < 0:
		return Schedule{}, fmt.Errorf("interval %v: must be positive: %w", interval, errdef.ErrInvalid)
	case interval > 0 && expr != "":
		return Schedule{}, fmt.Errorf("interval and schedule: give one, not both: %w", errdef.ErrInvalid)
	case expr != "":
		c, err := parser.Parse(expr)
		if err != nil {
			return Schedule{}, fmt.Errorf("schedule %q: %v: %w", expr, err, errdef.ErrInvalid)
		}
		s.cron = c
	}
	return s, nil
}

// IsZero reports whether s never runs on its own.
func (s Schedule) IsZero() bool { return s.Interval == 0 && s.cron == nil }

// Next returns when a job whose last run ended at last is due (last is the
// server's start for a job that has not run yet); the zero time when it
// never runs on its own.
func (s Schedule) Next(last time.Time) time.Time {
	switch {
	case s.Interval > 0:
		return last.Add(s.Interval)
	case s.cron != nil:
		return s.cron.Next(last)
	}
	return time.Time{}
}

// String describes s as its config gives it.
func (s Schedule) String() string {
	switch {
	case s.Interval > 0:
		return "every " + s.Interval.String()
	case s.cron != nil:
		return "cron " + s.Cron
	}
	return "on demand"
}
