package service

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: the servers
// and connections the tests start must all be shut down.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
