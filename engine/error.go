package engine

// Error is what engine operations return: which operation, on which reference,
// and the underlying error, whose class (errdef) errors.Is still finds.
type Error struct {
	Op  string // the verb: "inspect", "copy", "mutate", "list-files", ...; "open" from Open
	Ref string // the reference as the caller gave it, normalised
	Err error
}

func (e *Error) Error() string { return e.Op + " " + e.Ref + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
