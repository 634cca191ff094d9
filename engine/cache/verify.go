package cache

import (
	"context"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// maxSignatureBlob bounds the blobs Verifiable fetches: signatures,
// attestations and their configs are small; an artifact attached as a
// referrer may not be, and a verifier does not read it.
const maxSignatureBlob = 16 << 20

// Verifiable brings manifest ref of repository name into the store together
// with what verifying it reads: its referrers (API or tag schema at the
// upstream) and its legacy cosign tags (.sig, .att, .sbom), each with its
// config and layers up to maxSignatureBlob. A trust policy checked against
// the store then judges the upstream's image by its signatures. It returns
// the manifest; signatures that cannot be fetched are left out, so the
// policy refuses rather than this call failing.
func (c *Cache) Verifiable(ctx context.Context, name, ref string) (*oci.Manifest, error) {
	m, err := c.Manifest(ctx, name, ref)
	if err != nil {
		return nil, err
	}
	var sigs []*oci.Manifest
	if _, err := c.Referrers(ctx, name, m.Digest); err != nil {
		return m.Manifest, nil
	}
	for _, tag := range transport.LegacyTags(m.Descriptor()) {
		if sm, err := c.Manifest(ctx, name, tag); err == nil {
			sigs = append(sigs, sm.Manifest)
		}
	}
	repo, err := c.b.Repo(ctx, name)
	if err != nil {
		return m.Manifest, nil
	}
	refs, err := served.ListReferrers(ctx, c.b, name, repo, m.Digest)
	repo.Close()
	if err != nil {
		return m.Manifest, nil
	}
	for _, d := range refs {
		if rm, err := c.local(ctx, name, d.Digest.String()); err == nil {
			sigs = append(sigs, rm)
		}
	}
	for _, sm := range sigs {
		for _, d := range sm.Children() {
			if !oci.IsManifest(d.MediaType) && d.Size <= maxSignatureBlob {
				_ = c.fetchBlob(ctx, name, d.Digest)
			}
		}
	}
	return m.Manifest, nil
}

// fetchBlob brings blob d of name into the store and returns once it is
// there or its fetch failed, running the fill itself or waiting for
// another's.
func (c *Cache) fetchBlob(ctx context.Context, name string, d digest.Digest) error {
	s, fill, err := c.Blob(ctx, name, d)
	if err != nil || s == nil {
		return err
	}
	f := s.f
	s.Close()
	if fill != nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
		defer cancel()
		return fill.Run(fctx)
	}
	select {
	case <-f.finished:
		return f.runErr
	case <-ctx.Done():
		return ctx.Err()
	}
}
