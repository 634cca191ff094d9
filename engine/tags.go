package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// ListTags lists the tags of the repository or layout ref names; a tag or
// digest in ref is ignored.
func (e *Engine) ListTags(ctx context.Context, ref transport.Ref) (tags []string, err error) {
	err = e.read(ctx, "list-tags", ref, func(src transport.Source) error {
		tl, ok := src.(transport.TagLister)
		if !ok {
			return fmt.Errorf("listing tags of %s: %w", ref.Transport, errdef.ErrUnsupported)
		}
		tags, err = tl.Tags(ctx)
		return err
	})
	return tags, err
}
