// Package cache is the served registry's pull-through cache: repositories
// under a configured prefix (REGISTRY/docker.io/library/alpine) are
// answered from the served store and, on a miss, from the upstream
// registry the prefix stands for, whose content is then kept in the store
// as ordinary content (collected, retained, counted like any pushed
// image).
//
// A blob miss streams: its bytes go to every reader as they arrive from the
// upstream while one fetch writes them to a spool file, hashing them; the
// blob is committed to the store only when its digest verified, and readers
// get the last byte only then, so no reader ever sees a complete but wrong
// blob. Concurrent misses for one blob, manifest or tag share one upstream
// request. Manifests by digest are immutable and kept; a tag is trusted for
// its upstream's TagTTL, then revalidated with a HEAD, and served as cached
// (marked stale) when the upstream cannot be reached.
//
// The package starts no goroutine: a blob fill runs in Fill.Run, which the
// caller calls (in a goroutine of its own, so the fill outlives the
// request that started it) and which returns when the fill is over.
//
// distribution-spec v1.1.1 §Pulling manifests and §Pulling blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
package cache
