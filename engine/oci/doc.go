// Package oci is stevedore's model of OCI content: media types, descriptors,
// manifests kept as raw bytes beside their decoded form, image references, and the
// verifying reader every byte passes through.
//
// Specs: OCI image-spec v1.1.1 (https://github.com/opencontainers/image-spec/blob/v1.1.1/spec.md)
// and the Docker Image Manifest V2 Schema 2
// (https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/manifest-v2-2.md).
package oci
