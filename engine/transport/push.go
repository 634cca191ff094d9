package transport

import (
	"context"
	"io"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// ManifestTagger is implemented by targets that can store a manifest and
// tag it in one write: a registry then PUTs it once, by tag, instead of by
// digest and again by tag (what Target.Push then Target.Tag cost).
type ManifestTagger interface {
	// PushTagged writes r as the manifest desc describes, verified, and
	// points tag at it.
	PushTagged(ctx context.Context, desc oci.Descriptor, r io.Reader, tag string) error
}
