// Package mutate is the only package that writes new manifests and configs:
// config edits, annotations, tags, rebase, layer removal, media type
// conversion, flattening, recompression and index editing. Every operation
// reads its source, writes new blobs beside the old ones, pushes them to a
// transport.Target and returns the new digest; nothing is ever changed in
// place, so the source digest stays valid.
//
// Configs and manifests are edited as raw JSON objects, so fields stevedore
// does not model survive an edit (image-spec v1.1.1 config.md and
// manifest.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md,
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md).
package mutate
