package service

import (
	"context"
	"time"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/served"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
	"google.golang.org/grpc/codes"
)

// ListRepositories lists a page of the served store's repositories.
func (s *ImageServer) ListRepositories(ctx context.Context, req *stevedorev1.ListRepositoriesRequest) (*stevedorev1.ListRepositoriesResponse, error) {
	page, err := s.engine(ctx).ListRepositories(ctx, engine.ListOptions{
		Prefix: req.GetPrefix(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	resp := &stevedorev1.ListRepositoriesResponse{NextPageToken: page.NextPageToken}
	for _, r := range page.Repositories {
		resp.Repositories = append(resp.Repositories, &stevedorev1.RepositoryInfo{Name: r.Name, TagCount: int32(r.TagCount), StoredBytes: r.StoredBytes})
	}
	return resp, nil
}

// DeleteRepository deletes a served repository whole.
func (s *ImageServer) DeleteRepository(ctx context.Context, req *stevedorev1.DeleteRepositoryRequest) (*stevedorev1.DeleteRepositoryResponse, error) {
	del, err := s.engine(ctx).DeleteRepository(ctx, req.GetName())
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	return &stevedorev1.DeleteRepositoryResponse{ManifestsDeleted: int32(del.Manifests), TagsDeleted: int32(del.Tags)}, nil
}

// StorageUsage reports the bytes the served store holds.
func (s *ImageServer) StorageUsage(ctx context.Context, req *stevedorev1.StorageUsageRequest) (*stevedorev1.StorageUsageResponse, error) {
	u, err := s.engine(ctx).StorageUsage(ctx, req.GetPrefix())
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	resp := &stevedorev1.StorageUsageResponse{TotalBytes: u.TotalBytes, SharedBytes: u.SharedBytes}
	for _, r := range u.Repositories {
		resp.Repositories = append(resp.Repositories, &stevedorev1.RepositoryUsage{Name: r.Name, Blobs: int32(r.Blobs), Bytes: r.Bytes, SharedBytes: r.SharedBytes})
	}
	for _, q := range u.Quotas {
		resp.Quotas = append(resp.Quotas, &stevedorev1.QuotaUsage{
			Name: q.Label(), Repositories: q.Repositories, MaxBytes: q.MaxBytes, UsedBytes: q.UsedBytes,
			MaxRepositories: int32(q.MaxRepositories), RepositoryCount: int32(q.RepositoryCount),
		})
	}
	return resp, nil
}

// RunGC collects garbage in the served store now.
func (s *ImageServer) RunGC(ctx context.Context, req *stevedorev1.RunGCRequest) (*stevedorev1.RunGCResponse, error) {
	if req.GetGraceSeconds() < 0 {
		return nil, newStatus(codes.InvalidArgument, "", "grace_seconds must not be negative")
	}
	rep, err := s.engine(ctx).RunGC(ctx, served.GCOptions{DryRun: req.GetDryRun(), Grace: time.Duration(req.GetGraceSeconds()) * time.Second})
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	resp := &stevedorev1.RunGCResponse{
		DryRun: rep.DryRun, Repositories: int32(rep.Repositories), Reachable: int32(rep.Reachable),
		Removed: int32(rep.Removed), RemovedBytes: rep.RemovedBytes, FreedBytes: rep.FreedBytes, Young: int32(rep.Young),
	}
	for _, sk := range rep.Skipped {
		resp.Skipped = append(resp.Skipped, &stevedorev1.GCSkip{Repository: sk.Repo, Error: sk.Error})
	}
	return resp, nil
}
