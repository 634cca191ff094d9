package service

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/retention"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// SyncJobs are the sync jobs a server runs (the sync: section of serve
// --config) and the way it runs them: with its own engine, logged and
// counted in its metrics whoever asked.
type SyncJobs interface {
	Jobs() []*mirror.Job
	Run(ctx context.Context, job *mirror.Job, trigger string, progress func(mirror.ImageReport)) (*mirror.Report, error)
}

// Retention is the retention a server runs (the retention: section).
type Retention interface {
	Run(ctx context.Context, dryRun bool) (*retention.Report, error)
}

// WithScheduled lets the API show and start what the server runs on its
// own; either may be nil when the config has none.
func (s *ImageServer) WithScheduled(jobs SyncJobs, ret Retention) *ImageServer {
	s.syncJobs, s.retention = jobs, ret
	return s
}

// visibleJob reports whether the caller may see job: they may pull every
// repository it writes.
func visibleJob(eng *engine.Engine, job *mirror.Job) bool {
	for _, d := range job.Destinations() {
		if eng.Allowed(d, engine.ActionPull) != nil {
			return false
		}
	}
	return true
}

// findJob returns the job named name the caller may see; one they may not
// is as unknown as one that does not exist.
func (s *ImageServer) findJob(eng *engine.Engine, name string) (*mirror.Job, error) {
	if s.syncJobs != nil {
		for _, j := range s.syncJobs.Jobs() {
			if j.Name == name && visibleJob(eng, j) {
				return j, nil
			}
		}
	}
	return nil, newStatus(codes.NotFound, "", "no sync job "+name+" (see ListSyncJobs)")
}

// ListSyncJobs lists the sync jobs the caller may see.
func (s *ImageServer) ListSyncJobs(ctx context.Context, _ *stevedorev1.ListSyncJobsRequest) (*stevedorev1.ListSyncJobsResponse, error) {
	eng := s.engine(ctx)
	resp := &stevedorev1.ListSyncJobsResponse{}
	if s.syncJobs == nil {
		return resp, nil
	}
	for _, j := range s.syncJobs.Jobs() {
		if visibleJob(eng, j) {
			resp.Jobs = append(resp.Jobs, syncJob(j.Status()))
		}
	}
	return resp, nil
}

// GetSyncStatus describes one sync job with its last run's report.
func (s *ImageServer) GetSyncStatus(ctx context.Context, req *stevedorev1.GetSyncStatusRequest) (*stevedorev1.GetSyncStatusResponse, error) {
	j, err := s.findJob(s.engine(ctx), req.GetName())
	if err != nil {
		return nil, err
	}
	st := j.Status()
	resp := &stevedorev1.GetSyncStatusResponse{Job: syncJob(st)}
	if st.Last != nil && st.Last.Report != nil {
		for _, im := range st.Last.Report.Images {
			resp.Images = append(resp.Images, mirrorImage(im))
		}
	}
	return resp, nil
}

// RunSyncNow runs a sync job now, streaming its images as they finish.
// Like Mirror, a slow reader slows the run: each image waits for its Send.
func (s *ImageServer) RunSyncNow(req *stevedorev1.RunSyncNowRequest, stream stevedorev1.ImageService_RunSyncNowServer) error {
	ctx := stream.Context()
	eng := s.engine(ctx)
	j, err := s.findJob(eng, req.GetName())
	if err != nil {
		return err
	}
	for _, d := range j.Destinations() {
		if err := eng.Allowed(d, engine.ActionPush); err != nil {
			return toStatus(err, subjectRepository)
		}
	}
	var sendErr error
	rep, err := s.syncJobs.Run(ctx, j, mirror.TriggerAPI, func(im mirror.ImageReport) {
		if sendErr == nil {
			sendErr = stream.Send(&stevedorev1.RunSyncNowResponse{Image: mirrorImage(im)})
		}
	})
	if sendErr != nil {
		return sendErr
	}
	if err != nil {
		return toStatus(err, subjectRepository)
	}
	return stream.Send(&stevedorev1.RunSyncNowResponse{Summary: mirrorSummary(rep)})
}

// RunRetention applies the retention policies now (or lists what they
// would remove).
func (s *ImageServer) RunRetention(ctx context.Context, req *stevedorev1.RunRetentionRequest) (*stevedorev1.RunRetentionResponse, error) {
	if s.retention == nil {
		return nil, newStatus(codes.FailedPrecondition, "", "this server has no retention policies (retention: in serve --config)")
	}
	if err := s.engine(ctx).AllowedOnAll(ctx, engine.ActionDelete); err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	rep, err := s.retention.Run(ctx, req.GetDryRun())
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	return retentionResponse(rep), nil
}

// retentionResponse converts a retention report.
func retentionResponse(rep *retention.Report) *stevedorev1.RunRetentionResponse {
	actions := func(as []retention.Action) []*stevedorev1.RetentionAction {
		out := make([]*stevedorev1.RetentionAction, 0, len(as))
		for _, a := range as {
			out = append(out, &stevedorev1.RetentionAction{Repository: a.Repository, Tag: a.Tag, Digest: a.Digest.String(), Reason: a.Reason})
		}
		return out
	}
	resp := &stevedorev1.RunRetentionResponse{
		DryRun: rep.DryRun, Repositories: int32(rep.Plan.Repositories), TagsKept: int32(rep.Plan.TagsKept),
	}
	for _, sk := range rep.Plan.Skipped {
		resp.Skipped = append(resp.Skipped, &stevedorev1.RetentionSkip{Repository: sk.Repository, Error: sk.Error})
	}
	if rep.Result == nil {
		resp.Removed = actions(rep.Plan.Actions)
	} else {
		resp.Removed, resp.Kept = actions(rep.Result.Removed), actions(rep.Result.Kept)
	}
	if g := rep.GC; g != nil {
		resp.Gc = &stevedorev1.RunGCResponse{
			DryRun: g.DryRun, Repositories: int32(g.Repositories), Reachable: int32(g.Reachable),
			Removed: int32(g.Removed), RemovedBytes: g.RemovedBytes, FreedBytes: g.FreedBytes, Young: int32(g.Young),
		}
		for _, sk := range g.Skipped {
			resp.Gc.Skipped = append(resp.Gc.Skipped, &stevedorev1.GCSkip{Repository: sk.Repo, Error: sk.Error})
		}
	}
	return resp
}

// syncJob converts a job's status.
func syncJob(st mirror.JobStatus) *stevedorev1.SyncJob {
	out := &stevedorev1.SyncJob{
		Name: st.Name, Schedule: st.Schedule, Running: st.Running,
		RunningSince: stamp(st.RunningSince), NextRun: stamp(st.Next),
		Runs: int32(st.Runs), Failures: int32(st.Failures), Destinations: st.Destinations,
	}
	if l := st.Last; l != nil {
		out.LastRun = &stevedorev1.SyncRun{Trigger: l.Trigger, Started: stamp(l.Started), Finished: stamp(l.Finished), Error: l.Error}
		if l.Report != nil {
			out.LastRun.Summary = mirrorSummary(l.Report)
		}
	}
	return out
}

// stamp converts a time; the zero time is unset.
func stamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// mirrorSummary converts a mirror report's totals.
func mirrorSummary(rep *mirror.Report) *stevedorev1.MirrorSummary {
	sum := rep.Summary
	return &stevedorev1.MirrorSummary{
		DryRun:       rep.DryRun,
		Images:       int32(sum.Images),
		Copied:       int32(sum.Copied),
		Skipped:      int32(sum.Skipped),
		Failed:       int32(sum.Failed),
		WouldCopy:    int32(sum.WouldCopy),
		Bytes:        sum.Bytes,
		BlobsCopied:  int32(sum.BlobsCopied),
		BlobsSkipped: int32(sum.BlobsSkipped),
		Seconds:      rep.Seconds,
	}
}
