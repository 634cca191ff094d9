package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// writeServeConfig writes a serve config file and returns its path.
func writeServeConfig(t *testing.T, format string, args ...any) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stevedore.yaml")
	if err := os.WriteFile(p, fmt.Appendf(nil, format, args...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// slowUpstream is a reverse proxy in front of a registry that holds each
// tag listing for a while, so that a sync run lasts long enough for the
// test to ask for another one in the middle of it.
func slowUpstream(t *testing.T, host string, delay time.Duration) string {
	t.Helper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			time.Sleep(delay)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// metricValue reads one series from a /metrics page; -1 when absent.
func metricValue(t *testing.T, httpAddr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// syncRun is a "sync run" line of the server's log.
type syncRun struct {
	Job      string    `json:"job"`
	Trigger  string    `json:"trigger"`
	Started  time.Time `json:"started"` // RFC 3339, as serve logs times
	Finished time.Time `json:"finished"`
}

// syncRuns reads every sync run the server logged, in start order.
func syncRuns(t *testing.T, logPath string) []syncRun {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var runs []syncRun
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `"msg":"sync run`) || strings.Contains(line, "refused") {
			continue
		}
		var r syncRun
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
	return runs
}

// TestSyncJob: a job on a 2-second interval mirrors an upstream CNCF
// distribution registry into the served store, picks up a tag pushed there
// within an interval, and never runs twice at once: a run asked for over
// the API while one is in progress is refused with UNAVAILABLE, and the
// runs the server logged (scheduled and asked for) never overlap.
func TestSyncJob(t *testing.T) {
	f := sharedFixtures(t)
	upstream, err := startDistribution(t, "sync-upstream", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crane(t, "copy", f.image(t, "oci").Ref(), upstream.Host+"/lib/app:v1")
	slow := slowUpstream(t, upstream.Host, 1200*time.Millisecond)
	cfg := writeServeConfig(t, `
gc-grace: 1m
sync:
  - name: app
    interval: 2s
    referrers: true
    destination: {prefix: mirror}
    sources:
      - repository: %s/lib/app
`, slow)
	s, err := startStevedore(t, "serve-sync", serveOptions{Args: []string{"--config", cfg}})
	if err != nil {
		t.Fatal(err)
	}
	client := stevedorev1.NewImageServiceClient(s.Conn)
	ctx := context.Background()
	dst := s.Registry + "/mirror/lib/app"

	waitFor := func(what string, within time.Duration, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > within {
				t.Fatalf("%s: not within %v; log:\n%s", what, within, readTail(s.proc.log))
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}
	hasTag := func(tag string) func() bool {
		return func() bool {
			r, err := run(nil, "crane", "digest", dst+":"+tag)
			return err == nil && r.Code == 0
		}
	}
	waitFor("v1 mirrored", 15*time.Second, hasTag("v1"))

	// A new upstream tag arrives within an interval and a run.
	crane(t, "copy", f.image(t, "docker").Ref(), upstream.Host+"/lib/app:v2")
	took := waitFor("v2 mirrored", 15*time.Second, hasTag("v2"))
	t.Logf("a tag pushed upstream was served %v later (interval 2s, each run ≥ 1.2s)", took.Round(10*time.Millisecond))
	for _, tag := range []string{"v1", "v2"} {
		if got, want := craneSees(t, dst+":"+tag).Digest, craneSees(t, upstream.Host+"/lib/app:"+tag).Digest; got != want {
			t.Errorf("%s: digest %s, upstream %s", tag, got, want)
		}
		crane(t, "validate", "--remote", dst+":"+tag)
	}

	// While a run is in progress, RunSyncNow is refused.
	waitFor("a run in progress", 10*time.Second, func() bool {
		resp, err := client.GetSyncStatus(ctx, &stevedorev1.GetSyncStatusRequest{Name: "app"})
		return err == nil && resp.GetJob().GetRunning()
	})
	stream, err := client.RunSyncNow(ctx, &stevedorev1.RunSyncNowRequest{Name: "app"})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("RunSyncNow during a run: %v, want UNAVAILABLE", err)
	}

	// Asked for between runs, it streams the mirror report.
	var images, summaries int
	waitFor("a RunSyncNow accepted", 10*time.Second, func() bool {
		images, summaries = 0, 0
		stream, err := client.RunSyncNow(ctx, &stevedorev1.RunSyncNowRequest{Name: "app"})
		if err != nil {
			return false
		}
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return summaries == 1
			}
			if err != nil {
				if status.Code(err) != codes.Unavailable {
					t.Fatalf("RunSyncNow: %v", err)
				}
				return false
			}
			if msg.GetImage() != nil {
				images++
				if a := msg.GetImage().GetAction(); a != "skipped" {
					t.Errorf("RunSyncNow image %s: %s", msg.GetImage().GetSource(), a)
				}
			}
			if sum := msg.GetSummary(); sum != nil {
				summaries++
				if sum.GetSkipped() != 2 || sum.GetFailed() != 0 {
					t.Errorf("RunSyncNow summary %v", sum)
				}
			}
		}
	})
	if images != 2 {
		t.Errorf("RunSyncNow streamed %d images, want 2", images)
	}

	// Status, over gRPC and REST.
	st, err := client.GetSyncStatus(ctx, &stevedorev1.GetSyncStatusRequest{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if j := st.GetJob(); j.GetSchedule() != "every 2s" || j.GetRuns() < 3 || j.GetNextRun() == nil || j.GetLastRun() == nil ||
		strings.Join(j.GetDestinations(), ",") != "mirror/lib/app" || len(st.GetImages()) != 2 {
		t.Errorf("GetSyncStatus: %v", st)
	}
	if _, err := client.GetSyncStatus(ctx, &stevedorev1.GetSyncStatusRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetSyncStatus of an unknown job: %v", err)
	}
	var rest struct {
		Jobs []struct {
			Name    string `json:"name"`
			Runs    int    `json:"runs"`
			NextRun string `json:"nextRun"`
		} `json:"jobs"`
	}
	getJSON(t, "http://"+s.HTTP+"/v1/sync/jobs", &rest)
	if len(rest.Jobs) != 1 || rest.Jobs[0].Name != "app" || rest.Jobs[0].NextRun == "" {
		t.Errorf("GET /v1/sync/jobs: %+v", rest)
	}

	// No two runs the server logged overlap, and the schedule kept going.
	runs := syncRuns(t, s.proc.log)
	for i := 1; i < len(runs); i++ {
		if runs[i].Started.Before(runs[i-1].Finished) {
			t.Errorf("runs overlap: %+v and %+v", runs[i-1], runs[i])
		}
	}
	triggers := map[string]int{}
	for _, r := range runs {
		triggers[r.Trigger]++
	}
	if triggers["schedule"] < 3 || triggers["api"] != 1 {
		t.Errorf("runs by trigger %v, want ≥ 3 scheduled and 1 asked for", triggers)
	}
	t.Logf("%d runs (%v), none overlapping", len(runs), triggers)
	if v := metricValue(t, s.HTTP, `stevedore_sync_runs_total{job="app",result="busy"}`); v < 1 {
		t.Errorf("stevedore_sync_runs_total busy = %v, want ≥ 1", v)
	}
	if v := metricValue(t, s.HTTP, `stevedore_sync_runs_total{job="app",result="ok"}`); v < 3 {
		t.Errorf("stevedore_sync_runs_total ok = %v, want ≥ 3", v)
	}
}

// getJSON GETs url and decodes its JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, b)
	}
}
