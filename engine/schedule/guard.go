package schedule

import (
	"fmt"
	"sync"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Guard admits one run of a job at a time, whoever starts it (the timer or
// an API call), and remembers when the last run ended, which Schedule.Next
// counts from. The zero value is not usable; call NewGuard.
type Guard struct {
	name string

	mu      sync.Mutex
	running bool
	since   time.Time // start of the run in progress
	ended   time.Time // end of the last run, or the guard's creation
}

// NewGuard returns the guard of job name, created at now (the base of the
// first scheduled run).
func NewGuard(name string, now time.Time) *Guard { return &Guard{name: name, ended: now} }

// BusyError is a run refused because another of the same job is in progress.
type BusyError struct {
	Job   string
	Since time.Time
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%s is running (started %s); one run at a time", e.Job, e.Since.UTC().Format(time.RFC3339))
}

// Unwrap classifies the refusal: the job is unavailable until the run ends.
func (e *BusyError) Unwrap() error { return errdef.ErrUnavailable }

// Begin starts a run at now, unless one is in progress (a *BusyError). The
// caller must call end, with the time the run ended, exactly once.
func (g *Guard) Begin(now time.Time) (end func(time.Time), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running {
		return nil, &BusyError{Job: g.name, Since: g.since}
	}
	g.running, g.since = true, now
	var once sync.Once
	return func(t time.Time) {
		once.Do(func() {
			g.mu.Lock()
			g.running, g.ended = false, t
			g.mu.Unlock()
		})
	}, nil
}

// State reports whether a run is in progress and since when, and when the
// last run ended.
func (g *Guard) State() (running bool, since, ended time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running, g.since, g.ended
}
