package engine

import (
	"fmt"
)

// Action is what a caller does to a repository of the served store, named
// as the distribution token spec names the actions.
type Action string

// The actions an Access decides on.
const (
	ActionPull   Action = "pull"
	ActionPush   Action = "push"
	ActionDelete Action = "delete"
)

// Access decides what a caller may do to the served store's repositories,
// so that a caller has the same rights through the engine as through the
// registry's own port. Allowed returns nil, or an error saying why not
// (errdef.ErrDenied, or errdef.ErrUnauthorized for a caller who has not
// authenticated and might, which a client answers by logging in).
type Access interface {
	Allowed(repo string, action Action) error
}

// allow checks action on repository repo with the engine's Access.
func (e *Engine) allow(repo string, action Action) error {
	if action == ActionPush && e.opts.Writable != nil {
		if err := e.opts.Writable(repo); err != nil {
			return err
		}
	}
	if e.access == nil {
		return nil
	}
	if err := e.access.Allowed(repo, action); err != nil {
		return fmt.Errorf("%s on repository %s: %w", action, repo, err)
	}
	return nil
}
