package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// Manifest is a manifest as the cache serves it.
type Manifest struct {
	*oci.Manifest
	// Hit is true when the store answered without the upstream's bytes.
	Hit bool
	// Stale, when set, says why the upstream could not confirm a cached
	// tag, which is served as cached.
	Stale error
}

// Manifest returns the manifest ref (a tag or a digest) names in repository
// name, which must be under an upstream's prefix. A digest is read from the
// store, or fetched once and kept. A tag is read from the store while the
// upstream confirmed it within its TagTTL; after that a HEAD asks whether it
// moved (fetching the new manifest if so), and when the upstream cannot be
// reached the cached manifest is returned with Stale set. A tag the
// upstream no longer has is untagged here too. Failures to reach the
// upstream are *Error.
//
// distribution-spec v1.1.1 §Pulling manifests and §Checking if content exists:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
func (c *Cache) Manifest(ctx context.Context, name, ref string) (*Manifest, error) {
	up, remote, ok := c.route(name)
	if !ok {
		return nil, fmt.Errorf("repository %s is under no upstream's prefix: %w", name, errdef.ErrNotFound)
	}
	var m *Manifest
	var err error
	if served.IsDigestRef(ref) {
		m, err = c.manifestByDigest(ctx, up, name, remote, ref)
	} else {
		m, err = c.manifestByTag(ctx, up, name, remote, ref)
	}
	if err == nil {
		if m.Hit {
			up.hits.Add(1)
		} else {
			up.misses.Add(1)
		}
	}
	return m, err
}

// local reads manifest ref from the store.
func (c *Cache) local(ctx context.Context, name, ref string) (*oci.Manifest, error) {
	repo, err := c.b.Repo(ctx, name)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	return served.ReadManifest(ctx, repo, ref)
}

func (c *Cache) manifestByDigest(ctx context.Context, up *upstream, name, remote, ref string) (*Manifest, error) {
	if m, err := c.local(ctx, name, ref); err == nil {
		return &Manifest{Manifest: m, Hit: true}, nil
	} else if !errors.Is(err, errdef.ErrNotFound) {
		return nil, err
	}
	return share(c, ctx, "manifest\x00"+name+"\x00"+ref, func(ctx context.Context) (*Manifest, error) {
		if m, err := c.local(ctx, name, ref); err == nil {
			return &Manifest{Manifest: m, Hit: true}, nil // stored while we waited our turn
		}
		m, err := c.fetchManifest(ctx, up, name, remote, ref, nil)
		if err != nil {
			return nil, err
		}
		return &Manifest{Manifest: m}, nil
	})
}

func (c *Cache) manifestByTag(ctx context.Context, up *upstream, name, remote, tag string) (*Manifest, error) {
	key := "tag\x00" + name + "\x00" + tag
	cached, err := c.local(ctx, name, tag)
	switch {
	case err != nil && !errors.Is(err, errdef.ErrNotFound):
		return nil, err
	case err == nil && c.fresh(key, up.TagTTL):
		return &Manifest{Manifest: cached, Hit: true}, nil
	case err == nil:
		if down := up.isDown(); down != nil {
			up.failures.Add(1)
			return &Manifest{Manifest: cached, Hit: true, Stale: down}, nil
		}
	}
	return share(c, ctx, key, func(ctx context.Context) (*Manifest, error) {
		if cached == nil {
			m, err := c.fetchManifest(ctx, up, name, remote, tag, []string{tag})
			if err != nil {
				return nil, err
			}
			c.confirm(key)
			return &Manifest{Manifest: m}, nil
		}
		return c.revalidate(ctx, up, name, remote, tag, key, cached)
	})
}

// revalidate asks the upstream (HEAD) where tag points now.
func (c *Cache) revalidate(ctx context.Context, up *upstream, name, remote, tag, key string, cached *oci.Manifest) (*Manifest, error) {
	var desc oci.Descriptor
	err := up.try(ctx, remote, "manifest", func(r *registry.Repository) error {
		var err error
		desc, err = r.Resolve(ctx, tag)
		return err
	})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		// Gone upstream: so here, or the cache would serve a tag the
		// upstream withdrew for as long as it lives.
		c.forgetChecked(key)
		if repo, rerr := c.b.Repo(ctx, name); rerr == nil {
			_ = repo.Untag(ctx, tag)
			repo.Close()
		}
		return nil, err
	case err != nil:
		return &Manifest{Manifest: cached, Hit: true, Stale: err}, nil
	case desc.Digest == cached.Digest:
		c.confirm(key)
		return &Manifest{Manifest: cached, Hit: true}, nil
	}
	m, err := c.local(ctx, name, desc.Digest.String())
	if err == nil {
		// Moved to a manifest the store holds already: retag only.
		if err := c.tag(ctx, name, m, tag); err != nil {
			return nil, err
		}
		c.confirm(key)
		return &Manifest{Manifest: m, Hit: true}, nil
	}
	m, err = c.fetchManifest(ctx, up, name, remote, desc.Digest.String(), []string{tag})
	if err != nil {
		return nil, err
	}
	c.confirm(key)
	return &Manifest{Manifest: m}, nil
}

// fetchManifest GETs manifest ref from the upstream and stores it, tagged
// with tags (none: an untagged root, which a collector keeps).
func (c *Cache) fetchManifest(ctx context.Context, up *upstream, name, remote, ref string, tags []string) (*oci.Manifest, error) {
	var m *oci.Manifest
	err := up.try(ctx, remote, "manifest", func(r *registry.Repository) error {
		var err error
		m, err = r.GetManifest(ctx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	up.bytes.Add(int64(len(m.Raw)))
	_, err = served.PutManifest(ctx, c.b, name, m.Raw, served.ManifestPut{
		MediaType: m.MediaType, Digest: m.Digest, Tags: tags, Sparse: true,
	})
	if err != nil {
		return nil, fmt.Errorf("storing manifest %s of %s from upstream %s: %w", m.Digest, name, up.Prefix, err)
	}
	return m, nil
}

// tag points tag at the stored manifest m.
func (c *Cache) tag(ctx context.Context, name string, m *oci.Manifest, tag string) error {
	repo, err := c.b.Repo(ctx, name)
	if err != nil {
		return err
	}
	defer repo.Close()
	return repo.Tag(ctx, oci.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Raw))}, tag)
}

// Tags lists the tags of repository name at its upstream, in lexical order.
// When the upstream cannot be reached it returns the tags the store holds,
// with stale saying why; a repository the upstream does not know matches
// errdef.ErrNotFound.
//
// distribution-spec v1.1.1 §Listing tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags
func (c *Cache) Tags(ctx context.Context, name string) (tags []string, stale, err error) {
	up, remote, ok := c.route(name)
	if !ok {
		return nil, nil, fmt.Errorf("repository %s is under no upstream's prefix: %w", name, errdef.ErrNotFound)
	}
	err = up.try(ctx, remote, "tags", func(r *registry.Repository) error {
		var err error
		tags, err = r.Tags(ctx)
		return err
	})
	if err == nil || errors.Is(err, errdef.ErrNotFound) {
		slices.Sort(tags)
		return tags, nil, err
	}
	repo, rerr := c.b.Repo(ctx, name)
	if rerr != nil {
		return nil, nil, err
	}
	defer repo.Close()
	tags, rerr = repo.Tags(ctx)
	if rerr != nil {
		return nil, nil, rerr
	}
	return tags, err, nil
}

// Referrers brings the store's referrers of subject in repository name up
// to date with the upstream's (its referrers API, or its tag schema index
// where it has none), fetching and keeping each referrer manifest, so that
// the store's listing is the upstream's. It asks at most once per TagTTL;
// when the upstream cannot be reached, stale says why and the store's
// listing is what there is.
//
// distribution-spec v1.1.1 §Listing referrers and §Referrers Tag Schema:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema
func (c *Cache) Referrers(ctx context.Context, name string, subject digest.Digest) (stale error, err error) {
	up, remote, ok := c.route(name)
	if !ok {
		return nil, fmt.Errorf("repository %s is under no upstream's prefix: %w", name, errdef.ErrNotFound)
	}
	if err := oci.ValidateDigest(subject); err != nil {
		return nil, err
	}
	key := "referrers\x00" + name + "\x00" + subject.String()
	if c.fresh(key, up.TagTTL) {
		return nil, nil
	}
	if down := up.isDown(); down != nil {
		return down, nil
	}
	return share(c, ctx, key, func(ctx context.Context) (error, error) {
		var list []oci.Descriptor
		err := up.try(ctx, remote, "referrers", func(r *registry.Repository) error {
			var err error
			list, err = r.Referrers(ctx, oci.Descriptor{Digest: subject})
			return err
		})
		if err != nil {
			return err, nil
		}
		for _, d := range list {
			if d.Annotations[transport.AnnotationLegacyTag] != "" || !oci.IsManifest(d.MediaType) {
				continue // legacy cosign tags are read as tags, when asked for
			}
			if _, err := c.manifestByDigest(ctx, up, name, remote, d.Digest.String()); err != nil {
				return err, nil
			}
		}
		c.confirm(key)
		return nil, nil
	})
}
