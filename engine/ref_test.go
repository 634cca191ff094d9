package engine_test

import (
	"testing"

	"github.com/stevedore-dev/stevedore/engine/transport"
)

// ref parses s, as the edges of the engine do before calling it.
func ref(t testing.TB, s string) transport.Ref {
	t.Helper()
	r, err := transport.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
