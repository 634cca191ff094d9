// Package archive is the oci-archive: and docker-archive: transports: an OCI
// image layout inside a tar (image-spec v1.1.1 image-layout.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md),
// and the tar `docker save` writes and `docker load` reads (moby image spec
// v1.2 §Combined Image JSON + Filesystem Changeset Format:
// https://github.com/moby/moby/blob/v25.0.0/image/spec/v1.2.md#combined-image-json--filesystem-changeset-format).
//
// Readers index the tar once and serve every blob as a section of the file,
// so nothing is extracted or copied; only uncompressed tars can be read
// that way, which is what skopeo and docker write. Writers append blobs to a
// temporary tar as they arrive, write the index last, and rename it into
// place on Commit: an interrupted copy leaves no partial archive behind.
package archive
