package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/retention"
	"github.com/stevedore-dev/stevedore/engine/schedule"
	"github.com/stevedore-dev/stevedore/engine/served"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// rightsCaller may do exactly the actions listed per repository.
type rightsCaller map[string][]engine.Action

func (c rightsCaller) User() string { return "u" }

func (c rightsCaller) Allowed(repo string, a engine.Action) error {
	for _, have := range c[repo] {
		if have == a {
			return nil
		}
	}
	return fmt.Errorf("%s %s: %w", a, repo, errdef.ErrDenied)
}

// countingJobs runs nothing: it counts the runs asked for.
type countingJobs struct {
	jobs []*mirror.Job
	runs int
}

func (j *countingJobs) Jobs() []*mirror.Job { return j.jobs }

func (j *countingJobs) Run(context.Context, *mirror.Job, string, func(mirror.ImageReport)) (*mirror.Report, error) {
	j.runs++
	return &mirror.Report{}, nil
}

// sent collects what a server stream sends.
type sent struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []*stevedorev1.RunSyncNowResponse
}

func (s *sent) Context() context.Context { return s.ctx }

func (s *sent) Send(m *stevedorev1.RunSyncNowResponse) error {
	s.msgs = append(s.msgs, m)
	return nil
}

// TestScheduledAccess: a caller sees the sync jobs whose destinations they
// may pull, runs one only with the push right on them, and runs retention
// only with the delete right everywhere.
func TestScheduledAccess(t *testing.T) {
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := root.Backend()
	if _, err := b.CreateRepo(context.Background(), "mirror/a"); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Options{Served: b, ServedHosts: []string{"store.test:1"}})
	cfg, err := mirror.ParseConfig([]byte("destination: {registry: store.test:1, prefix: mirror}\nsources: [{repository: upstream.test/a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	job, err := mirror.NewJob("a", cfg, schedule.Schedule{}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	jobs := &countingJobs{jobs: []*mirror.Job{job}}
	ret, err := retention.NewRunner(b, retention.Options{Policies: []retention.Policy{{Repositories: "**", KeepLast: 1}}}, schedule.Schedule{}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := NewImageServer(eng).WithScheduled(jobs, ret)
	as := func(c rightsCaller) context.Context {
		return context.WithValue(context.Background(), callerKey{}, Caller(c))
	}
	pull := rightsCaller{"mirror/a": {engine.ActionPull}}
	push := rightsCaller{"mirror/a": {engine.ActionPull, engine.ActionPush}}
	del := rightsCaller{"mirror/a": {engine.ActionPull, engine.ActionDelete}}

	for _, tc := range []struct {
		name   string
		caller rightsCaller
		want   int
	}{{"no rights", rightsCaller{}, 0}, {"pull", pull, 1}} {
		resp, err := s.ListSyncJobs(as(tc.caller), &stevedorev1.ListSyncJobsRequest{})
		if err != nil || len(resp.GetJobs()) != tc.want {
			t.Errorf("ListSyncJobs as %s: %v, %v; want %d jobs", tc.name, resp, err, tc.want)
		}
	}
	if _, err := s.GetSyncStatus(as(rightsCaller{}), &stevedorev1.GetSyncStatusRequest{Name: "a"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetSyncStatus of a job the caller may not see: %v, want NOT_FOUND", err)
	}
	if err := s.RunSyncNow(&stevedorev1.RunSyncNowRequest{Name: "a"}, &sent{ctx: as(pull)}); status.Code(err) != codes.PermissionDenied || jobs.runs != 0 {
		t.Errorf("RunSyncNow without push: %v (%d runs), want PERMISSION_DENIED", err, jobs.runs)
	}
	st := &sent{ctx: as(push)}
	if err := s.RunSyncNow(&stevedorev1.RunSyncNowRequest{Name: "a"}, st); err != nil || jobs.runs != 1 || len(st.msgs) != 1 || st.msgs[0].GetSummary() == nil {
		t.Errorf("RunSyncNow with push: %v, %d runs, %v", err, jobs.runs, st.msgs)
	}
	if _, err := s.RunRetention(as(pull), &stevedorev1.RunRetentionRequest{DryRun: true}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("RunRetention without delete: %v, want PERMISSION_DENIED", err)
	}
	if resp, err := s.RunRetention(as(del), &stevedorev1.RunRetentionRequest{DryRun: true}); err != nil || !resp.GetDryRun() {
		t.Errorf("RunRetention with delete: %v, %v", resp, err)
	}
	none := NewImageServer(eng)
	if _, err := none.RunRetention(context.Background(), &stevedorev1.RunRetentionRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("RunRetention without policies: %v, want FAILED_PRECONDITION", err)
	}
	if resp, err := none.ListSyncJobs(context.Background(), &stevedorev1.ListSyncJobsRequest{}); err != nil || len(resp.GetJobs()) != 0 {
		t.Errorf("ListSyncJobs without jobs: %v, %v", resp, err)
	}
}
