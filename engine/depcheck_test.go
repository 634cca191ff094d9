package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryImports keeps engine/ a library: nothing under it may depend on
// the server packages, gRPC, the gateway or the logger the shells use.
func TestLibraryImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"google.golang.org/grpc",
		"github.com/grpc-ecosystem/grpc-gateway",
		"go.uber.org/zap",
		"github.com/stevedore-dev/stevedore/service",
		"github.com/stevedore-dev/stevedore/registryhttp",
		"github.com/stevedore-dev/stevedore/gen",
		"github.com/stevedore-dev/stevedore/cmd",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("engine depends on %s", pkg)
			}
		}
	}
}
