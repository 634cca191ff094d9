// Package copy is the copy primitive every higher verb (mirror, sync, the Copy
// RPC) composes from: it moves an image, an index or an artifact from a
// transport.Source to a transport.Target byte for byte, so every digest is
// preserved, verifying every byte on the way and skipping what the target
// already holds. Children go before parents and the tag goes last, so a
// reader of the target never sees a manifest whose content is missing
// (distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests).
package copy
