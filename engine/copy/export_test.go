package copy

import "context"

// AcquireForTest exposes HostLimiter.acquire to the external tests.
func AcquireForTest(l *HostLimiter, ctx context.Context, hosts ...string) (func(), error) {
	return l.acquire(ctx, hosts...)
}
