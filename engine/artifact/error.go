package artifact

// Error says which artifact operation failed on which file (a layer title
// or a path on disk). The underlying error keeps its class: errors.Is(err,
// errdef.ErrInvalid) holds for a title that would escape the directory.
type Error struct {
	Op   string // "push", "pull", "attach", "discover"
	Name string // the file, title or reference concerned; may be empty
	Err  error
}

func (e *Error) Error() string {
	s := "artifact " + e.Op
	if e.Name != "" {
		s += " " + e.Name
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
