package layer

// Error says which entry of a layer being written failed; errors.Is still
// finds the errdef class of Err.
type Error struct {
	Path string // the entry's path, relative to the root
	Err  error
}

func (e *Error) Error() string { return "layer entry " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
