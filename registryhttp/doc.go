// Package registryhttp serves stevedore's store over the OCI distribution API
// (distribution-spec v1.1.1: https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md)
// as a plain http.Handler, so `stevedore serve` mounts it on its OCI port and
// tests mount it on httptest.
//
// Storage is a served.Backend: a data directory (served.Root), or an S3 bucket
// that several replicas share (engine/served/s3). In a data directory each repository is an OCI image layout under
// DATA/repos/<name>/_oci (the "_oci" leaf can never be a repository path
// component, since those start with a letter or digit, so nested repository
// names never collide with a layout's own files); blobs are hard-linked into
// each layout from one pool, DATA/blobs; upload sessions live on disk under
// DATA/uploads/<uuid>; referrers are recorded as marker files under
// DATA/repos/<name>/_referrers. Manifests pushed by digest alone are
// untagged roots of their layout's index.json, so skopeo, oras and a garbage
// collector all see them. The bucket's layout is engine/served/s3's.
//
// Every handler returns an error; ServeHTTP alone writes the answer, its code
// and status looked up in one table (errors.go: error class × endpoint), and
// only errors nothing classified become 500s. A client that went away is
// logged and counted as 499; a full disk is 507. Limits (limits.go) bound
// what slow and greedy clients may hold, refusing new work with 429 or 503
// and Retry-After before it reads or writes anything.
package registryhttp
