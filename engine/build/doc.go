// Package build makes images: Build from directories or tars, on scratch or
// on a base image, and Append, which adds layers on top of an existing image
// or index. Layers are deterministic tars (engine/layer); configs and
// manifests are written new, and what they reference is pushed first, so a
// target never holds a manifest whose blobs are missing. Sources are never
// changed: every result has a new digest.
//
// Specs: image-spec v1.1.1 manifest.md, config.md and image-index.md
// (https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md,
// https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md,
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md)
// and Docker Image Manifest V2 Schema 2 for --format docker.
package build
