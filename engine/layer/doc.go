// Package layer writes and reads image layers: deterministic tars from a
// directory or a tar stream, compressed with gzip or zstd (or not at all) in
// one streaming pass that also yields the diff_id and the blob digest, and
// decompression by media type for the readers.
//
// Spec: OCI image-spec v1.1.1 layer.md
// (https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md) and
// config.md §rootfs for diff_ids
// (https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties).
package layer
