package store

import "github.com/opencontainers/go-digest"

// Error is what the filesystem store returns: the operation, the blob or
// manifest it concerned (empty when none, e.g. listing tags), and the cause,
// whose errdef class errors.Is still finds.
type Error struct {
	Op     string // "open", "create", "stat", "put", "resolve", "tag", "tags", "roots"
	Digest digest.Digest
	Err    error
}

func (e *Error) Error() string {
	if e.Digest == "" {
		return "store " + e.Op + ": " + e.Err.Error()
	}
	return "store " + e.Op + " " + e.Digest.String() + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
