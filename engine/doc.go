// Package engine is stevedore's core as a Go library: every operation the
// CLI and the API offer is one method of *Engine, taking references parsed
// once (transport.ParseRef: docker://HOST/REPO:TAG or a bare HOST/REPO:TAG,
// store:REPO:TAG, oci:DIR:TAG, oci-archive:FILE:TAG, docker-archive:FILE)
// and a typed options struct. Importing it starts no goroutine and opens
// no port; the CLI calls it directly and service/ puts it behind gRPC and
// REST.
//
// The verbs, by family:
//
//   - read: Inspect, GetManifest, GetBlob, ListTags
//   - move: Copy (byte for byte; CopyOptions add conversion, a trust policy
//     check, signing at the destination); engine/mirror runs many copies
//   - write new images: Build, Append, Mutate (config, annotations, layers,
//     flatten, recompress, convert), Rebase, CreateIndex, AddToIndex,
//     RemoveFromIndex, Tag, Untag, Delete
//   - artifacts: PushArtifact, AttachArtifact, PullArtifact, OpenArtifact,
//     DiscoverReferrers
//   - analyse: Files, LayerFiles, ReadFile, Export, Diff, Size, History,
//     Validate
//   - sign: Sign, Attest, Verify, VerifyAttestation, SignatureTree
//   - the served store: ListRepositories, DeleteRepository, StorageUsage,
//     RunGC
//
// A verb that writes a new image never changes its source: it writes to
// the reference its options name (To), by default the source's own
// repository and tag. Archives are written whole, committed once the verb
// succeeded and removed when it failed. Failures are *Error, naming the
// verb and the reference, with the class (engine/errdef) still found by
// errors.Is.
//
// New(Options) configures registry access (credentials, TLS, a dial guard),
// the paths the engine may open, and the store a `stevedore serve` serves;
// As returns an engine acting for one caller of that store.
package engine
