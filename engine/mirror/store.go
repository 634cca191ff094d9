package mirror

import (
	"context"
	"io"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// storeClient is what the served store (served.Repo, for a destination
// naming the registry this process serves) offers a mirror: everything
// repoClient asks but resumable uploads, which it has no use for — it
// commits a blob from one verified stream, with no network in between.
type storeClient interface {
	transport.Source
	transport.Target
	transport.TagLister
	transport.ReferrerLister
	transport.RangeFetcher
	transport.Mounter
	transport.ManifestTagger
	Host() string
	Name() string
}

// storeDest lets the served store stand where a registry repository would:
// its "resumable" upload is one stream from the source's start.
type storeDest struct{ storeClient }

// PushResumable opens the source once and pushes it whole.
func (s storeDest) PushResumable(ctx context.Context, desc oci.Descriptor, _ int64, open func(ctx context.Context, offset int64) (io.ReadCloser, error)) error {
	rc, err := open(ctx, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	return s.Push(ctx, desc, rc)
}

// asRepoClient returns v as a repoClient: a registry client as it is, the
// served store through storeDest.
func asRepoClient(v any) (repoClient, bool) {
	if rc, ok := v.(repoClient); ok {
		return rc, true
	}
	if sc, ok := v.(storeClient); ok {
		return storeDest{sc}, true
	}
	return nil, false
}
