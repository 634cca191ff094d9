package engine_test

import (
	"testing"

	"go.uber.org/goleak"

	_ "github.com/stevedore-dev/stevedore/engine"
	_ "github.com/stevedore-dev/stevedore/engine/cache"
	_ "github.com/stevedore-dev/stevedore/engine/sign/keyless"
	_ "github.com/stevedore-dev/stevedore/engine/sign/notation"
)

// TestImportStartsNothing: importing the engine (and everything it imports,
// the keyless verifier's sigstore-go tree and the notation-go tree included)
// must leave no goroutine running.
func TestImportStartsNothing(t *testing.T) {
	goleak.VerifyNone(t)
}
