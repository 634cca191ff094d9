package integration

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine"
	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// TestCopyStreamResumesAfterRegistryRestart: with the default chunk size a
// large blob goes up in one streaming PATCH; a distribution registry
// killed in the middle of it keeps what it had written, and the copy,
// after the restart, asks where the upload got to and sends only the rest.
func TestCopyStreamResumesAfterRegistryRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and uploads a 128 MiB blob")
	}
	const size, killAfter = 128 << 20, 48 << 20
	src, md, ld := bigLayout(t, size)
	reg := newRestartableDistribution(t, "")
	dst, err := engine.New(engine.Options{}).OpenTarget(context.Background(), transport.Ref{Transport: transport.Docker, Image: oci.Reference{Registry: reg.Host, Repository: "stream/app", Tag: "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	var killedAt, resumedAt atomic.Int64
	restarted := make(chan error, 1)
	opts := imgcopy.Options{Progress: func(e imgcopy.Event) {
		if e.Kind != imgcopy.KindBlobBytes || e.Desc.Digest != ld.Digest {
			return
		}
		if killed.Load() && e.Bytes != killedAt.Load() {
			resumedAt.CompareAndSwap(0, e.Bytes)
		}
		if e.Bytes > killAfter && killed.CompareAndSwap(false, true) {
			killedAt.Store(e.Bytes)
			reg.kill()
			go func() {
				time.Sleep(300 * time.Millisecond)
				restarted <- reg.start()
			}()
		}
	}}
	res, err := imgcopy.Copy(context.Background(), src, "big", dst, "v1", opts)
	if !killed.Load() {
		t.Fatal("the registry was never killed")
	}
	if rerr := <-restarted; rerr != nil {
		t.Fatalf("restarting the registry: %v", rerr)
	}
	if err != nil {
		t.Fatalf("copy across a registry restart: %v", err)
	}
	if res.Digest != md.Digest {
		t.Fatalf("copied %s, want %s", res.Digest, md.Digest)
	}
	t.Logf("killed at %d MiB, resumed from %d MiB", killedAt.Load()>>20, resumedAt.Load()>>20)
	if resumedAt.Load() < 16<<20 {
		t.Errorf("after the kill at %d the upload carried on from %d: it restarted instead of resuming", killedAt.Load(), resumedAt.Load())
	}
}
