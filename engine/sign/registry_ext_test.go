package sign_test

import (
	"net/http"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// The sign tests run against a real registry server; registryhttp imports
// sign, so the server is wired in from this external test package.
func init() {
	sign.NewTestRegistry = func(dir string) (http.Handler, error) { return registryhttp.New(dir, nil) }
}
