// Package access carries what the auth layer decided about a caller to the
// registry handler behind it, through the request's context: the handler
// serves what it is asked, and the catalog lists only the repositories the
// caller may pull.
package access

import "context"

type pullableKey struct{}

// WithPullable returns ctx carrying may, which reports whether the caller
// may pull a repository.
func WithPullable(ctx context.Context, may func(name string) bool) context.Context {
	return context.WithValue(ctx, pullableKey{}, may)
}

// Pullable returns the predicate WithPullable stored, or nil when there is
// none (no auth: everything is visible).
func Pullable(ctx context.Context) func(name string) bool {
	may, _ := ctx.Value(pullableKey{}).(func(string) bool)
	return may
}
