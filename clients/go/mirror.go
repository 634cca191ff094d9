package stevedoreclient

import (
	"context"
	"iter"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// Mirror runs the mirror configuration req.Config (YAML or JSON text) on the
// server and yields a message per image as it finishes, then the summary.
// A failed image is a result with an error code, not an error; errors mean
// the mirror could not run. Stopping the loop early cancels it.
func (c *Client) Mirror(ctx context.Context, req *stevedorev1.MirrorRequest) iter.Seq2[*stevedorev1.MirrorResponse, error] {
	return func(yield func(*stevedorev1.MirrorResponse, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for msg, err := range recvAll(c.Images.Mirror(ctx, req)) {
			if !yield(msg, err) || err != nil {
				return
			}
		}
	}
}
