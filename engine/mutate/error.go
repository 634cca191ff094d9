package mutate

import "github.com/opencontainers/go-digest"

// Error is what mutations return: the operation, the manifest being
// rewritten when known, and the cause, whose errdef class errors.Is finds.
type Error struct {
	Op     string        // "mutate", "rebase", "flatten", "index", "tag", ...
	Digest digest.Digest // the source manifest involved, if any
	Err    error
}

func (e *Error) Error() string {
	s := e.Op
	if e.Digest != "" {
		s += " " + e.Digest.String()
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
