package copy

import (
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Origins of a copy failure: which side of the copy the error came from.
const (
	OriginSource      = "source"
	OriginDestination = "destination"
)

// Error says which side of a copy failed and on what content. The underlying
// error keeps its class: errors.Is(err, errdef.ErrDigestMismatch) still holds
// for a corrupt source blob.
type Error struct {
	// Origin is OriginSource or OriginDestination.
	Origin string
	// Desc describes the content being copied when the copy failed; its
	// digest is empty when the failure was resolving the source reference.
	Desc oci.Descriptor
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string {
	s := "copy failed at the " + e.Origin
	if e.Desc.Digest != "" {
		s += " on " + string(e.Desc.Digest)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func srcErr(d oci.Descriptor, err error) error {
	return &Error{Origin: OriginSource, Desc: d, Err: err}
}
func dstErr(d oci.Descriptor, err error) error {
	return &Error{Origin: OriginDestination, Desc: d, Err: err}
}
