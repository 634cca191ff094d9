package stevedoreclient_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDepcheck keeps the client light: programs that only call a server must
// not link the server, the engine's operations or its stores. (The gateway
// runtime comes in with the generated package, which holds the gateway too.)
func TestDepcheck(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/stevedore-dev/stevedore/clients/go").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/stevedore-dev/stevedore/service",
			"github.com/stevedore-dev/stevedore/registryhttp",
			"github.com/stevedore-dev/stevedore/engine/store",
			"github.com/stevedore-dev/stevedore/engine/transport",
		} {
			if pkg == banned || strings.HasPrefix(pkg, banned+"/") {
				t.Errorf("clients/go depends on %s", pkg)
			}
		}
		if pkg == "github.com/stevedore-dev/stevedore/engine" {
			t.Errorf("clients/go depends on %s", pkg)
		}
	}
}
