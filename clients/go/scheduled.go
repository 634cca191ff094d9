package stevedoreclient

import (
	"context"
	"iter"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// ListSyncJobs lists the sync jobs of the server's config (serve --config,
// sync:) that the caller may see, with their schedules and last runs.
func (c *Client) ListSyncJobs(ctx context.Context) ([]*stevedorev1.SyncJob, error) {
	resp, err := unary(ctx, c.Images.ListSyncJobs, &stevedorev1.ListSyncJobsRequest{})
	return resp.GetJobs(), err
}

// SyncStatus describes sync job name with its last run's per-image results.
func (c *Client) SyncStatus(ctx context.Context, name string) (*stevedorev1.GetSyncStatusResponse, error) {
	return unary(ctx, c.Images.GetSyncStatus, &stevedorev1.GetSyncStatusRequest{Name: name})
}

// RunSyncNow runs sync job name now and yields a message per image as it
// finishes, then the summary. A job that is running already fails with
// ErrUnavailable: runs of a job never overlap. Stopping the loop early
// cancels the run.
func (c *Client) RunSyncNow(ctx context.Context, name string) iter.Seq2[*stevedorev1.RunSyncNowResponse, error] {
	return func(yield func(*stevedorev1.RunSyncNowResponse, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for msg, err := range recvAll(c.Images.RunSyncNow(ctx, &stevedorev1.RunSyncNowRequest{Name: name})) {
			if !yield(msg, err) || err != nil {
				return
			}
		}
	}
}

// RunRetention applies the server's retention policies now and collects
// garbage; with dryRun it only lists what a run would remove.
func (c *Client) RunRetention(ctx context.Context, dryRun bool) (*stevedorev1.RunRetentionResponse, error) {
	return unary(ctx, c.Images.RunRetention, &stevedorev1.RunRetentionRequest{DryRun: dryRun})
}
