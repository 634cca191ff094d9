package served

import "github.com/opencontainers/go-digest"

// Error is what the served registry's storage returns: the operation, the
// blob or manifest it concerned (empty when none), and the cause, whose
// errdef class errors.Is still finds.
type Error struct {
	Op     string // "open", "create", "put", "mount", "upload", "referrer", "gc", ...
	Digest digest.Digest
	Err    error
}

func (e *Error) Error() string {
	if e.Digest == "" {
		return "served " + e.Op + ": " + e.Err.Error()
	}
	return "served " + e.Op + " " + e.Digest.String() + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
