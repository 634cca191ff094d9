package retention

import (
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine/schedule"
)

// TestRunner: a dry run removes nothing and reports the plan; a run
// removes it and collects; the schedule counts from the end of the last run.
func TestRunner(t *testing.T) {
	day := 24 * time.Hour
	f := newFixture(t)
	f.image("app", "old", 3*day, "old")
	f.image("app", "new", 0, "new")
	s, _ := schedule.Parse(time.Hour, "")
	start := time.Now()
	r, err := NewRunner(f.b, Options{Policies: []Policy{{Repositories: "**", KeepLast: 1}}, Pulls: f.pulls(30 * day)}, s, time.Nanosecond, start)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Next(); !got.Equal(start.Add(time.Hour)) {
		t.Errorf("Next before any run = %v, want start + 1h", got)
	}
	dry, err := r.Run(f.ctx, true)
	if err != nil || !dry.DryRun || len(dry.Plan.Actions) != 1 || dry.Result != nil || dry.GC != nil {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if !r.Next().Equal(start.Add(time.Hour)) {
		t.Error("a dry run moved the schedule")
	}
	rep, err := r.Run(f.ctx, false)
	if err != nil || len(rep.Result.Removed) != 1 || rep.Result.Removed[0].Tag != "old" || rep.GC == nil || rep.GC.Removed == 0 {
		t.Fatalf("run: %+v, %v", rep, err)
	}
	if next := r.Next(); next.Before(rep.Finished.Add(time.Hour)) || next.After(time.Now().Add(time.Hour)) {
		t.Errorf("Next after a run = %v, want an hour after it ended (%v)", next, rep.Finished)
	}
}
