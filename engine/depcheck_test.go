package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryImports keeps engine/ a library: nothing under it may depend on
// the server packages, gRPC, the gateway or the logger the shells use.
//
// One subtree is let off gRPC and the gateway: engine/sign/keyless verifies
// with sigstore-go, whose bundle package links Rekor v2's generated gRPC and
// gateway stubs (types, never a server). It stays held to the rest, and the
// rest of engine/ to everything.
func TestLibraryImports(t *testing.T) {
	forbidden := []string{
		"google.golang.org/grpc",
		"github.com/grpc-ecosystem/grpc-gateway",
		"go.uber.org/zap",
		"github.com/stevedore-dev/stevedore/service",
		"github.com/stevedore-dev/stevedore/registryhttp",
		"github.com/stevedore-dev/stevedore/gen",
		"github.com/stevedore-dev/stevedore/cmd",
	}
	list, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var lib, keyless []string
	for _, p := range strings.Fields(string(list)) {
		if strings.Contains(p, "/engine/sign/keyless") {
			keyless = append(keyless, p)
		} else {
			lib = append(lib, p)
		}
	}
	check := func(pkgs []string, forbidden []string) {
		out, err := exec.Command("go", append([]string{"list", "-deps", "-test=false"}, pkgs...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if pkg == f || strings.HasPrefix(pkg, f+"/") {
					t.Errorf("engine depends on %s", pkg)
				}
			}
		}
	}
	check(lib, forbidden)
	check(keyless, forbidden[2:])
}
