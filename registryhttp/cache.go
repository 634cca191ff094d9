package registryhttp

import (
	"container/list"
	"context"
	"sync"
	"syscall"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// Two caches keep the manifest GET, the registry's hottest request, to a
// stat and a read of index.json: opening a repository reads and checks its
// layout, and reading a manifest opens, hashes and decodes it. Neither can
// go stale. A repository, once it exists, is never removed through the
// registry or the collector; a manifest is named by its digest, and the
// repository is still asked (Stat) whether it holds it, so a deleted one is
// never served. What is cached is only what the storage already said.

// maxCachedRepos bounds the repository cache; past it the cache starts
// over. An open repository of a data directory holds its directory open
// (store.FS), so the bound follows the descriptor limit: an eighth of it, at
// most 1024. Repositories dropped by a restart are closed by the runtime
// once no request uses them.
var maxCachedRepos = sync.OnceValue(func() int {
	n := 1024
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur/8 < uint64(n) {
		n = max(int(lim.Cur/8), 16)
	}
	return n
})

// repoCache remembers the repositories that exist.
type repoCache struct {
	mu sync.RWMutex
	m  map[string]served.Repository
}

func (c *repoCache) get(name string) served.Repository {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[name]
}

func (c *repoCache) put(name string, r served.Repository) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedRepos() {
		c.m = map[string]served.Repository{}
	}
	c.m[name] = r
}

// openRepo opens the existing repository name, from the cache when it was
// opened before.
func (reg *Registry) openRepo(ctx context.Context, name string) (served.Repository, error) {
	if r := reg.repos.get(name); r != nil {
		return r, nil
	}
	r, err := reg.root.Repo(ctx, name)
	if err == nil {
		reg.repos.put(name, r)
	}
	return r, err
}

// createRepo opens the repository name, creating it if needed.
func (reg *Registry) createRepo(ctx context.Context, name string) (served.Repository, error) {
	r, err := reg.root.CreateRepo(ctx, name)
	if err == nil {
		reg.repos.put(name, r)
	}
	return r, err
}

// Manifest cache bounds: manifests are at most oci.DefaultManifestLimit,
// usually a few KiB; the big ones are not worth the room.
const (
	maxCachedManifestBytes = 8 << 20
	maxCachedManifest      = 64 << 10
)

// manifestCache holds verified, decoded manifests by digest and the media
// type they were read as, least recently used out first. Entries are
// shared: callers never modify a manifest.
type manifestCache struct {
	mu    sync.Mutex
	m     map[manifestKey]*list.Element
	lru   list.List // of *oci.Manifest, most recent first
	bytes int
}

type manifestKey struct {
	d         digest.Digest
	mediaType string // the index.json entry's, "" by digest
}

func (c *manifestCache) get(k manifestKey) *oci.Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(cachedManifest).m
}

type cachedManifest struct {
	k manifestKey
	m *oci.Manifest
}

func (c *manifestCache) put(k manifestKey, m *oci.Manifest) {
	if len(m.Raw) > maxCachedManifest {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[manifestKey]*list.Element{}
	}
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = c.lru.PushFront(cachedManifest{k, m})
	c.bytes += len(m.Raw)
	for c.bytes > maxCachedManifestBytes {
		last := c.lru.Back()
		old := last.Value.(cachedManifest)
		c.lru.Remove(last)
		delete(c.m, old.k)
		c.bytes -= len(old.m.Raw)
	}
}
