package stevedoreclient

import (
	"context"
	"iter"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// Repositories lists the served store's repositories under prefix that the
// caller may pull, in lexical order, fetching pages as the loop asks for
// more.
func (c *Client) Repositories(ctx context.Context, prefix string) iter.Seq2[*stevedorev1.RepositoryInfo, error] {
	return func(yield func(*stevedorev1.RepositoryInfo, error) bool) {
		token := ""
		for {
			resp, err := c.Images.ListRepositories(ctx, &stevedorev1.ListRepositoriesRequest{Prefix: prefix, PageToken: token})
			if err != nil {
				yield(nil, FromStatus(err))
				return
			}
			for _, r := range resp.GetRepositories() {
				if !yield(r, nil) {
					return
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				return
			}
		}
	}
}

// DeleteRepository deletes a served repository whole: tags, manifests and
// records; its blobs go at the next garbage collection.
func (c *Client) DeleteRepository(ctx context.Context, name string) (*stevedorev1.DeleteRepositoryResponse, error) {
	return unary(ctx, c.Images.DeleteRepository, &stevedorev1.DeleteRepositoryRequest{Name: name})
}

// StorageUsage reports the bytes the served repositories under prefix hold.
func (c *Client) StorageUsage(ctx context.Context, prefix string) (*stevedorev1.StorageUsageResponse, error) {
	return unary(ctx, c.Images.StorageUsage, &stevedorev1.StorageUsageRequest{Prefix: prefix})
}

// RunGC collects garbage in the served store now; with dryRun it only
// reports what it would remove.
func (c *Client) RunGC(ctx context.Context, dryRun bool) (*stevedorev1.RunGCResponse, error) {
	return unary(ctx, c.Images.RunGC, &stevedorev1.RunGCRequest{DryRun: dryRun})
}
