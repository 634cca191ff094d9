package mirror_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/schedule"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// TestJobIntoServedStore runs a job whose destination is the registry the
// engine serves: it writes the store directly, and its runs never overlap.
func TestJobIntoServedStore(t *testing.T) {
	src := newServer(t)
	app := src.repo(t, "org/app")
	app.tag(app.image("amd64", "base", "one"), "v1")

	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := root.Backend()
	eng := engine.New(engine.Options{Served: b, ServedHosts: []string{"stevedore.test:5000"}})
	cfg, err := mirror.ParseConfig([]byte(`
destination: {registry: stevedore.test:5000, prefix: mirror}
sources:
  - repository: ` + src.host + `/org/app
`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := schedule.Parse(time.Hour, "")
	job, err := mirror.NewJob("app", cfg, s, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Destinations(); !slices.Equal(got, []string{"mirror/org/app"}) {
		t.Errorf("Destinations = %v", got)
	}

	// A run asked for while one is in progress is refused.
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := job.Run(context.Background(), eng, mirror.TriggerAPI, func(mirror.ImageReport) { <-release })
		done <- err
	}()
	for !job.Status().Running {
		time.Sleep(time.Millisecond)
	}
	var busy *schedule.BusyError
	if _, err := job.Run(context.Background(), eng, mirror.TriggerSchedule, nil); !errors.As(err, &busy) || !errors.Is(err, errdef.ErrUnavailable) {
		t.Fatalf("second run during the first: %v, want a BusyError", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	st := job.Status()
	if st.Running || st.Runs != 1 || st.Failures != 0 || st.Last == nil || st.Last.Report == nil {
		t.Fatalf("status after one run: %+v", st)
	}
	if im := st.Last.Report.Images; len(im) != 1 || im[0].Action != mirror.ActionCopied {
		t.Fatalf("report images: %+v", im)
	}
	if !st.Next.After(st.Last.Finished) || st.Next.Sub(st.Last.Finished) != time.Hour {
		t.Errorf("next %v, last finished %v: want an hour after", st.Next, st.Last.Finished)
	}
	repo, err := b.Repo(context.Background(), "mirror/org/app")
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	if _, err := repo.Resolve(context.Background(), "v1"); err != nil {
		t.Fatalf("v1 in the store: %v", err)
	}

	// A new upstream tag is picked up by the next run; the old one is skipped.
	app.tag(app.image("amd64", "base", "two"), "v2")
	rep, err := job.Run(context.Background(), eng, mirror.TriggerSchedule, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byTag(rep)
	if got["v1"].Action != mirror.ActionSkipped || got["v2"].Action != mirror.ActionCopied {
		t.Errorf("second run: %+v", rep.Images)
	}
}
