package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// DeleteOptions configure Engine.Delete. The zero value deletes the manifest.
type DeleteOptions struct {
	// TagOnly removes just the tag ref names and leaves the manifest (and
	// its other tags) in place. Many registries refuse it (CNCF distribution
	// does); a layout always allows it.
	TagOnly bool
}

// Delete deletes the manifest ref names, as crane delete does: a tag is
// resolved to its digest first, and deleting the manifest removes every tag
// naming it. With opts.TagOnly, only ref's tag goes. It returns the
// manifest's descriptor (for TagOnly, the one the tag named). Registries
// get DELETE /v2/NAME/manifests/DIGEST (or /TAG); an oci: layout loses the
// manifest's index.json entries and its blob. A registry that disables
// deletes is reported as such, matching errdef.ErrUnsupported.
//
// distribution-spec v1.1.1 §Deleting manifests, §Deleting tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-manifests
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-tags
func (e *Engine) Delete(ctx context.Context, r transport.Ref, opts DeleteOptions) (oci.Descriptor, error) {
	desc, err := e.delete(ctx, r, opts)
	if err != nil {
		return oci.Descriptor{}, &Error{Op: "delete", Ref: r.String(), Err: err}
	}
	return desc, nil
}

func (e *Engine) delete(ctx context.Context, r transport.Ref, opts DeleteOptions) (oci.Descriptor, error) {
	fail := func(err error) (oci.Descriptor, error) { return oci.Descriptor{}, err }
	tag, dgst := r.Tag, r.Digest
	if r.IsRepository() {
		tag, dgst = r.Image.Tag, r.Image.Digest
	}
	if opts.TagOnly && (tag == "" || dgst != "") {
		return fail(fmt.Errorf("removing a tag needs a reference that names a tag and no digest: %w", errdef.ErrInvalid))
	}
	var t interface {
		transport.Source
		Untag(ctx context.Context, tag string) error
		DeleteManifest(ctx context.Context, d digest.Digest) error
	}
	if name, ok, err := e.served(r); err != nil {
		return fail(err)
	} else if ok {
		if err := e.servedDelete(name); err != nil {
			return fail(err)
		}
		t = served.NewRepo(e.opts.Served, name)
	} else {
		switch r.Transport {
		case transport.Docker:
			if err := e.checkRemote(r); err != nil {
				return fail(err)
			}
			t = registry.New(r.Image.Registry, r.Image.Repository, e.opts.Registry)
		case transport.OCI:
			fs, err := e.openLayout(r.Path, false)
			if err != nil {
				return fail(err)
			}
			defer fs.Close()
			t = layout.New(fs)
		default:
			return fail(fmt.Errorf("deleting from %s (write a new archive without the image instead): %w", r.Transport, errdef.ErrUnsupported))
		}
	}
	desc, err := t.Resolve(ctx, r.Identifier())
	if err != nil {
		return fail(err)
	}
	if opts.TagOnly {
		err = t.Untag(ctx, tag)
	} else {
		err = t.DeleteManifest(ctx, desc.Digest)
	}
	if err != nil {
		return fail(explainRefused(err, opts.TagOnly))
	}
	return desc, nil
}

// explainRefused says what a registry's 405/UNSUPPORTED to a DELETE means,
// since the bare status reads like a client bug.
func explainRefused(err error, tagOnly bool) error {
	if !errors.Is(err, errdef.ErrUnsupported) {
		return err
	}
	if tagOnly {
		return fmt.Errorf("the registry refused to delete the tag: its deletes are disabled, or it cannot delete a tag on its own (deleting the manifest by digest removes all its tags): %w", err)
	}
	return fmt.Errorf("the registry has deletes disabled (CNCF distribution: storage.delete.enabled: true): %w", err)
}
