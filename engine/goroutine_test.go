package engine_test

import (
	"testing"

	"go.uber.org/goleak"

	_ "github.com/stevedore-dev/stevedore/engine"
)

// TestImportStartsNothing: importing the engine (and everything it imports)
// must leave no goroutine running.
func TestImportStartsNothing(t *testing.T) {
	goleak.VerifyNone(t)
}
