package registryhttp

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// keep restarts the collector's grace period for the blobs ds of repo, when
// the backend offers it (store.Toucher); blobs repo lacks are skipped and
// reported by an error matching errdef.ErrNotFound. A collector may run
// while the registry serves (serve --gc-interval, or stevedore gc beside
// it), and a push can reference blobs it did not write just now: touched,
// they stay at least one grace period, long enough for the manifest that
// needs them to be tagged and so marked.
func (reg *Registry) keep(ctx context.Context, repo store.Repository, ds ...digest.Digest) error {
	t, ok := reg.root.(store.Toucher)
	if !ok || len(ds) == 0 {
		return nil
	}
	return t.Touch(ctx, repo, ds...)
}

// keepManifest touches what manifest m, about to be stored, needs: the
// manifest itself (it may be an old, untagged copy) and everything it
// references. It runs before the references are checked, so that a
// collection cannot fall between the check and the tag: either it ran
// before the touch, and the check finds what it removed missing
// (MANIFEST_BLOB_UNKNOWN), or it runs after, and finds all of it young.
func (reg *Registry) keepManifest(ctx context.Context, repo store.Repository, m *oci.Manifest) error {
	children := m.Children()
	ds := make([]digest.Digest, 0, len(children)+1)
	ds = append(ds, m.Digest)
	for _, d := range children {
		if oci.ValidateDigest(d.Digest) == nil {
			ds = append(ds, d.Digest)
		}
	}
	if err := reg.keep(ctx, repo, ds...); err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return err
	}
	return nil
}

// keepCommitted touches blob d of repository name after an upload made it
// part of it. A commit that finds the blob already linked leaves the file
// as it was, perhaps older than the grace period and unreferenced; touched,
// it waits for the manifest the client pushes next. One collected in the
// instant between the commit and the touch fails the request rather than be
// acknowledged: the client uploads it again.
func (reg *Registry) keepCommitted(ctx context.Context, name string, d digest.Digest) error {
	if _, ok := reg.root.(store.Toucher); !ok {
		return nil
	}
	repo, err := reg.openRepo(ctx, name)
	if err != nil {
		return err
	}
	if err := reg.keep(ctx, repo, d); errors.Is(err, errdef.ErrNotFound) {
		return fail(classInvalid, "blob "+d.String()+" was garbage-collected while its upload closed; upload it again")
	} else if err != nil {
		return err
	}
	return nil
}
