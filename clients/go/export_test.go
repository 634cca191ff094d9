package stevedoreclient

import "time"

// SetBackoff shortens the resume backoff for a test; the returned func restores it.
func SetBackoff(d time.Duration) (restore func()) {
	old := firstBackoff
	firstBackoff = d
	return func() { firstBackoff = old }
}

// MaxFailures is the resume policy's limit, for tests that exhaust it.
func MaxFailures() int { return maxFailures }
