// Package artifact pushes files as OCI artifacts, pulls them back into a
// directory, attaches artifacts to a subject and discovers referrers, in the
// form oras writes and reads, over any transport.Target and Source.
//
// Specs: image-spec v1.1.1 manifest.md §Guidelines for Artifact Usage
// (https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage)
// and distribution-spec v1.1.1 §Listing referrers
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers).
package artifact
