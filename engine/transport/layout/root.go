package layout

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// AddRoot records the manifest desc in index.json without a tag, so that a
// copy to an untagged oci:DIR still lists the image there (image-spec v1.1.1
// §index.json file: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file).
func (l *Layout) AddRoot(ctx context.Context, desc oci.Descriptor) error {
	return l.fs.AddRoot(ctx, desc)
}
