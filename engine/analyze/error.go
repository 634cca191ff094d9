package analyze

import (
	"strings"

	"github.com/opencontainers/go-digest"
)

// Error is what analyses return when they fail: the operation, the layer
// and path involved (when known), and the cause, whose errdef class
// errors.Is still finds.
type Error struct {
	Op    string        // "files", "read", "export", "changes", "validate"
	Layer digest.Digest // the layer being read, if any
	Path  string        // the path in the image, if any
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Layer != "" {
		b.WriteString(" layer " + e.Layer.String())
	}
	if e.Path != "" {
		b.WriteString(" /" + e.Path)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
