package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// ListTags lists the tags of the repository or layout ref names; a tag or
// digest in ref is ignored.
func (e *Engine) ListTags(ctx context.Context, ref string) ([]string, error) {
	r, err := transport.ParseRef(ref)
	if err != nil {
		return nil, &Error{Op: "list-tags", Ref: ref, Err: err}
	}
	src, err := e.Open(ctx, r)
	if err != nil {
		return nil, err
	}
	tl, ok := src.(transport.TagLister)
	if !ok {
		return nil, &Error{Op: "list-tags", Ref: r.String(), Err: fmt.Errorf("listing tags of %s: %w", r.Transport, errdef.ErrUnsupported)}
	}
	tags, err := tl.Tags(ctx)
	if err != nil {
		return nil, &Error{Op: "list-tags", Ref: r.String(), Err: err}
	}
	return tags, nil
}
