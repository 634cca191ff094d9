package served

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/glob"
)

// RepoUsage is what one repository holds.
type RepoUsage struct {
	Name string `json:"name"`
	// Blobs counts the blobs and manifests it holds; Bytes is their size.
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
	// SharedBytes is the part of Bytes other reported repositories hold too.
	SharedBytes int64 `json:"sharedBytes"`
}

// Usage is what a set of repositories holds.
type Usage struct {
	// TotalBytes counts each blob once however many repositories hold it:
	// the space the repositories take.
	TotalBytes int64 `json:"totalBytes"`
	// SharedBytes is the part of TotalBytes more than one repository holds.
	SharedBytes  int64       `json:"sharedBytes"`
	Repositories []RepoUsage `json:"repositories"`
	// Quotas are the quotas of a QuotaBackend, their use summed over the
	// reported repositories.
	Quotas []QuotaUsage `json:"quotas,omitempty"`
}

// StorageUsage measures the repositories names of b (blobs are stored once
// however many repositories hold them, so shared bytes count once in the
// total). A repository deleted meanwhile is left out.
func StorageUsage(ctx context.Context, b Backend, names []string) (*Usage, error) {
	holders := map[digest.Digest]int{}
	sizes := map[digest.Digest]int64{}
	held := make([][]digest.Digest, len(names))
	u := &Usage{Repositories: []RepoUsage{}}
	for i, name := range names {
		ru := RepoUsage{Name: name}
		err := withRepo(ctx, b, name, func(repo Repository) error {
			return repo.WalkBlobs(ctx, func(d digest.Digest, size int64) error {
				held[i] = append(held[i], d)
				holders[d]++
				sizes[d] = size
				ru.Blobs++
				ru.Bytes += size
				return nil
			})
		})
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w", name, err)
		}
		u.Repositories = append(u.Repositories, ru)
	}
	for d, n := range holders {
		u.TotalBytes += sizes[d]
		if n > 1 {
			u.SharedBytes += sizes[d]
		}
	}
	for i := range u.Repositories {
		ru := &u.Repositories[i]
		for j, name := range names {
			if name != ru.Name {
				continue
			}
			for _, d := range held[j] {
				if holders[d] > 1 {
					ru.SharedBytes += sizes[d]
				}
			}
		}
	}
	if qb, ok := b.(interface{ Quotas() []Quota }); ok {
		for _, q := range qb.Quotas() {
			qu := QuotaUsage{Quota: q}
			for _, ru := range u.Repositories {
				if glob.Match(q.Repositories, ru.Name) {
					qu.UsedBytes += ru.Bytes
					qu.RepositoryCount++
				}
			}
			u.Quotas = append(u.Quotas, qu)
		}
	}
	return u, nil
}

// RepoSummary is a repository as a listing shows it.
type RepoSummary struct {
	Name        string `json:"name"`
	TagCount    int    `json:"tagCount"`
	StoredBytes int64  `json:"storedBytes"`
}

// Summarize counts the tags and stored bytes of repository name.
func Summarize(ctx context.Context, b Backend, name string) (RepoSummary, error) {
	s := RepoSummary{Name: name}
	err := withRepo(ctx, b, name, func(repo Repository) error {
		tags, err := repo.Tags(ctx)
		if err != nil {
			return err
		}
		s.TagCount = len(tags)
		return repo.WalkBlobs(ctx, func(_ digest.Digest, size int64) error {
			s.StoredBytes += size
			return nil
		})
	})
	return s, err
}

// Deletion says what DeleteRepository removed.
type Deletion struct {
	Manifests int `json:"manifests"`
	Tags      int `json:"tags"`
}

// DeleteRepository removes repository name whole (see Repositories.DeleteRepo),
// reporting the tags it had and the manifests they named.
func DeleteRepository(ctx context.Context, b Backend, name string) (Deletion, error) {
	var del Deletion
	err := withRepo(ctx, b, name, func(repo Repository) error {
		tags, err := repo.Tags(ctx)
		if err != nil {
			return err
		}
		named := map[digest.Digest]bool{}
		for _, t := range tags {
			if d, err := repo.Resolve(ctx, t); err == nil {
				named[d.Digest] = true
			}
		}
		del = Deletion{Manifests: len(named), Tags: len(tags)}
		return nil
	})
	if err != nil {
		return del, err
	}
	return del, b.DeleteRepo(ctx, name)
}

// withRepo opens repository name for fn and closes it.
func withRepo(ctx context.Context, b Backend, name string, fn func(Repository) error) error {
	repo, err := b.Repo(ctx, name)
	if err != nil {
		return err
	}
	defer repo.Close()
	return fn(repo)
}
