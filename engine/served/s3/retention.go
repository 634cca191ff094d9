package s3

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// TagTimes returns when each tag of s's repository was last written: its
// tag object's LastModified, which every Tag rewrites. One listing.
func (s *Store) TagTimes(ctx context.Context) (map[string]time.Time, error) {
	prefix := s.keys.tags(s.repo)
	objs, err := s.list(ctx, prefix)
	if err != nil {
		return nil, &store.Error{Op: "tags", Err: err}
	}
	out := make(map[string]time.Time, len(objs))
	for _, o := range objs {
		tag, err := url.PathUnescape(strings.TrimPrefix(o.key, prefix))
		if err != nil || store.ValidateTag(tag) != nil {
			continue // not ours
		}
		out[tag] = o.modified
	}
	return out, nil
}

// UntaggedRoots returns the manifests recorded as untagged roots of s's
// repository (AddRoot); a manifest tagged since may still have a record.
func (s *Store) UntaggedRoots(ctx context.Context) ([]oci.Descriptor, error) {
	objs, err := s.list(ctx, s.keys.manifests(s.repo))
	if err != nil {
		return nil, &store.Error{Op: "roots", Err: err}
	}
	var out []oci.Descriptor
	for _, o := range objs {
		b, _, err := s.getRecord(ctx, o.key)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, &store.Error{Op: "roots", Err: err}
		}
		var desc oci.Descriptor
		if json.Unmarshal(b, &desc) == nil && desc.Digest != "" {
			out = append(out, desc)
		}
	}
	return out, nil
}
