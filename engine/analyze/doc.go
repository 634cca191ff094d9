// Package analyze reads images rather than moving them: the merged root
// filesystem of an image's layers (listing, reading one file, exporting it as
// one tar), the changes each layer makes, and validation of every descriptor,
// digest and diff_id an image names.
//
// Layers are applied as image-spec v1.1.1 layer.md describes — changesets,
// whiteouts and opaque directories:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#whiteouts.
// Layers are always streamed, never held in memory; only metadata (one
// FileInfo per path) is kept, and decompression is bounded against bombs.
package analyze
