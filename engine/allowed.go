package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Allowed checks that the engine's caller may do action on repository repo
// of the served store; an engine acting for no one in particular (not made
// by As) may do anything.
func (e *Engine) Allowed(repo string, action Action) error { return e.allow(repo, action) }

// AllowedOnAll checks that the engine's caller may do action on every
// repository of the served store: what an operation over the whole store
// (a collection, a retention run) needs.
func (e *Engine) AllowedOnAll(ctx context.Context, action Action) error {
	if e.opts.Served == nil {
		return fmt.Errorf("no store is served here: %w", errdef.ErrUnsupported)
	}
	if e.access == nil {
		return nil
	}
	names, err := e.opts.Served.Repositories(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := e.allow(n, action); err != nil {
			return fmt.Errorf("this needs the %s right on every repository: %w", action, err)
		}
	}
	return nil
}
