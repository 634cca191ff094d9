package build

// Error is what Build and Append return: the operation, the reference it
// worked on when known, and the cause, whose errdef class errors.Is finds.
type Error struct {
	Op  string // "build" or "append"
	Ref string // the base or source, if any
	Err error
}

func (e *Error) Error() string {
	s := e.Op
	if e.Ref != "" {
		s += " " + e.Ref
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
