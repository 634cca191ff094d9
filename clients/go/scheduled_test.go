package stevedoreclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/retention"
	"github.com/stevedore-dev/stevedore/engine/schedule"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp"
	"github.com/stevedore-dev/stevedore/service"
)

// jobs runs sync jobs with one engine, as serve does.
type jobs struct {
	list []*mirror.Job
	eng  *engine.Engine
}

func (j jobs) Jobs() []*mirror.Job { return j.list }

func (j jobs) Run(ctx context.Context, job *mirror.Job, trigger string, progress func(mirror.ImageReport)) (*mirror.Report, error) {
	return job.Run(ctx, j.eng, trigger, progress)
}

// TestScheduled: a server with a sync job (an upstream registry mirrored
// into its store) and retention, driven through the client.
func TestScheduled(t *testing.T) {
	ctx := context.Background()
	upstream, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(upstream)
	t.Cleanup(ts.Close)
	up := strings.TrimPrefix(ts.URL, "http://")
	if _, err := dial(t, addr).Copy(ctx, filesRef(), up+"/fixture/files:v1", stevedoreclient.CopyOptions{}, nil); err != nil {
		t.Fatal(err)
	}

	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := root.Backend()
	eng := engine.New(engine.Options{Served: b, ServedHosts: []string{"store.test:5000"}})
	cfg, err := mirror.ParseConfig([]byte("destination: {registry: store.test:5000}\nsources: [{repository: " + up + "/fixture/files}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	job, err := mirror.NewJob("files", cfg, schedule.Schedule{}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ret, err := retention.NewRunner(b, retention.Options{Policies: []retention.Policy{{Repositories: "**", KeepLast: 1}}}, schedule.Schedule{}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := service.NewGRPCServerFor(service.NewImageServer(eng).WithScheduled(jobs{[]*mirror.Job{job}, eng}, ret), zap.NewNop())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	c := dial(t, lis.Addr().String())

	list, err := c.ListSyncJobs(ctx)
	if err != nil || len(list) != 1 || list[0].GetName() != "files" || list[0].GetSchedule() != "on demand" || list[0].GetNextRun() != nil {
		t.Fatalf("ListSyncJobs = %v, %v", list, err)
	}
	var images int
	var copied int32 = -1
	for msg, err := range c.RunSyncNow(ctx, "files") {
		if err != nil {
			t.Fatal(err)
		}
		if msg.GetImage() != nil {
			images++
		}
		if s := msg.GetSummary(); s != nil {
			copied = s.GetCopied()
		}
	}
	if images != 1 || copied != 1 {
		t.Fatalf("RunSyncNow: %d images, %d copied; want 1 and 1", images, copied)
	}
	st, err := c.SyncStatus(ctx, "files")
	if err != nil || st.GetJob().GetRuns() != 1 || len(st.GetImages()) != 1 || st.GetImages()[0].GetAction() != "copied" {
		t.Fatalf("SyncStatus = %v, %v", st, err)
	}
	if _, err := c.SyncStatus(ctx, "nope"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("SyncStatus(nope): %v, want ErrNotFound", err)
	}
	rep, err := c.RunRetention(ctx, true)
	if err != nil || !rep.GetDryRun() || len(rep.GetRemoved()) != 0 || rep.GetTagsKept() != 1 {
		t.Fatalf("RunRetention(dry run) = %v, %v", rep, err)
	}
	// The mirrored image is in the store, and the store serves it.
	reg := httptest.NewServer(registryhttp.NewBackend(b, nil, registryhttp.Options{}))
	t.Cleanup(reg.Close)
	resp, err := http.Head(reg.URL + "/v2/fixture/files/manifests/v1")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mirrored manifest: %v %v", resp, err)
	}
}
