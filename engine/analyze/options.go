package analyze

import "github.com/stevedore-dev/stevedore/engine/oci"

// Defaults for Options' zero values.
const (
	// DefaultMaxLayerSize bounds the uncompressed size of one layer.
	DefaultMaxLayerSize = 16 << 30
	// DefaultMaxRatio bounds uncompressed/compressed bytes. gzip cannot
	// exceed about 1032:1 even on zeros, so real layers stay well below; a
	// layer above it is a bomb (or, with zstd, close enough to one).
	DefaultMaxRatio = 1024
	// ratioFloor is how many uncompressed bytes a layer may produce before
	// the ratio guard applies: small layers of zeros are legitimate and
	// harmless, whatever their ratio.
	ratioFloor = 64 << 20
)

// Options tune every analysis. The zero value analyses linux on the host's
// architecture with the default bounds.
type Options struct {
	// Platform picks the manifest of an index, as os/arch[/variant]; empty
	// means linux/<host arch>. An image that is not an index is analysed
	// whatever Platform says.
	Platform string
	// MaxLayerSize bounds each layer's uncompressed size; <= 0 means
	// DefaultMaxLayerSize. Exceeding it fails with errdef.ErrTooLarge.
	MaxLayerSize int64
	// MaxRatio bounds uncompressed bytes per compressed byte once a layer
	// has produced 64 MiB; <= 0 means DefaultMaxRatio. Exceeding it fails
	// with errdef.ErrTooLarge.
	MaxRatio int64
	// ManifestLimit bounds manifest and config reads; <= 0 means
	// oci.DefaultManifestLimit.
	ManifestLimit int64
}

func (o Options) withDefaults() Options {
	if o.MaxLayerSize <= 0 {
		o.MaxLayerSize = DefaultMaxLayerSize
	}
	if o.MaxRatio <= 0 {
		o.MaxRatio = DefaultMaxRatio
	}
	if o.ManifestLimit <= 0 {
		o.ManifestLimit = oci.DefaultManifestLimit
	}
	return o
}
