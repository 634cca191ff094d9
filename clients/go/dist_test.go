package stevedoreclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
)

// registryBin is the CNCF distribution registry scripts/install-tools.sh
// builds, as STEVEDORE_REGISTRY_BIN names it.
func registryBin() string { return os.Getenv("STEVEDORE_REGISTRY_BIN") }

// startDistribution starts a distribution registry on a loopback port, as
// integration/ does, and copies the fixture's files image into it as
// fixture/files:v1 through the server under test. The binary is
// $STEVEDORE_REGISTRY_BIN (clients/test.sh sets it from
// scripts/install-tools.sh); without it the tests that need the registry
// skip, or fail under STEVEDORE_REQUIRE_PEERS=1.
func startDistribution(dir string) (string, func(), error) {
	bin := registryBin()
	if _, err := os.Stat(bin); bin == "" || err != nil {
		if os.Getenv("STEVEDORE_REQUIRE_PEERS") == "1" {
			return "", nil, fmt.Errorf("no distribution registry at STEVEDORE_REGISTRY_BIN=%q (STEVEDORE_REQUIRE_PEERS=1 makes this a failure; clients/test.sh sets it)", bin)
		}
		fmt.Fprintf(os.Stderr, "no distribution registry at STEVEDORE_REGISTRY_BIN=%q: its tests skip\n", bin)
		return "", func() {}, nil
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	host := lis.Addr().String()
	lis.Close()
	cfg := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\n"+
		"storage: {filesystem: {rootdirectory: %q}, delete: {enabled: true}}\nhttp: {addr: %q}\n", filepath.Join(dir, "registry"), host), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	// distribution-spec v1.1.1 §Determining support:
	// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#determining-support
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("distribution registry did not start")
		}
	}
	c, err := stevedoreclient.Dial(addr)
	if err != nil {
		stop()
		return "", nil, err
	}
	defer c.Close()
	if _, err := c.Copy(context.Background(), fx.Ref(":"+fixture.TagFiles), host+"/fixture/files:v1", stevedoreclient.CopyOptions{}, nil); err != nil {
		stop()
		return "", nil, err
	}
	return host, stop, nil
}
