package oci

import (
	"fmt"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Descriptor points at content by media type, digest and size (image-spec v1.1.1
// descriptor.md). It is the image-spec type, aliased so callers need one import.
type Descriptor = v1.Descriptor

// Platform is the image-spec platform of an index entry or image config.
type Platform = v1.Platform

// ValidateDigest checks that d is well-formed and uses an algorithm stevedore can
// verify (sha256, sha512), wrapping errdef.ErrInvalid otherwise.
func ValidateDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("digest %q: %v: %w", d, err, errdef.ErrInvalid)
	}
	return nil
}
