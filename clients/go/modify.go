package stevedoreclient

import (
	"context"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// Mutate writes a new image from req.Ref with the edits req asks for and
// pushes it to req.Destination (default: req.Ref's repository and tag). The
// source's digest stays valid; the result names the new one.
func (c *Client) Mutate(ctx context.Context, req *stevedorev1.MutateRequest) (*stevedorev1.WriteResult, error) {
	resp, err := unary(ctx, c.Images.Mutate, req)
	return resp.GetResult(), err
}

// Tag points tags, in ref's repository or layout, at the manifest ref names.
func (c *Client) Tag(ctx context.Context, ref string, tags ...string) (*stevedorev1.WriteResult, error) {
	resp, err := unary(ctx, c.Images.Tag, &stevedorev1.TagRequest{Ref: ref, Tags: tags})
	return resp.GetResult(), err
}

// Untag removes the tag ref names; the manifest stays.
func (c *Client) Untag(ctx context.Context, ref string) error {
	_, err := unary(ctx, c.Images.Untag, &stevedorev1.UntagRequest{Ref: ref})
	return err
}
