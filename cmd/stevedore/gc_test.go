package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// TestGCCommand runs `stevedore gc` on a data directory holding one
// unreferenced blob: a dry run keeps it, a real run removes it and frees
// its pool copy.
func TestGCCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root, err := served.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := root.CreateRepo(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	b := []byte("nobody references me")
	d := digest.FromBytes(b)
	if err := root.Put(ctx, repo, oci.Descriptor{Digest: d, Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // older than the 1ms grace below

	gc := func(t *testing.T, want int, args ...string) served.GCReport {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(ctx, append([]string{"gc", "--data", dir, "--grace", "1ms", "--json"}, args...), &stdout, &stderr); code != want {
			t.Fatalf("exit %d, want %d; stderr: %s", code, want, stderr.String())
		}
		var rep served.GCReport
		if want == exitOK {
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("--json output %q: %v", stdout.String(), err)
			}
		}
		return rep
	}
	t.Run("dry run", func(t *testing.T) {
		rep := gc(t, exitOK, "--dry-run")
		if !rep.DryRun || rep.Removed != 1 || rep.PoolRemoved != 1 || rep.FreedBytes != int64(len(b)) {
			t.Fatalf("report %+v", rep)
		}
		if _, err := repo.Stat(ctx, d); err != nil {
			t.Fatalf("dry run removed the blob: %v", err)
		}
	})
	t.Run("collect", func(t *testing.T) {
		rep := gc(t, exitOK)
		if rep.Removed != 1 || rep.PoolRemoved != 1 {
			t.Fatalf("report %+v", rep)
		}
		if _, err := repo.Stat(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("blob still there: %v", err)
		}
	})
	t.Run("text report", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(ctx, []string{"gc", "--data", dir}, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "repositories: 1") {
			t.Fatalf("report:\n%s", stdout.String())
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"missing data directory", []string{"gc", "--data", filepath.Join(dir, "nope")}, exitFailure},
		{"zero grace", []string{"gc", "--data", dir, "--grace", "0s"}, exitUsage},
		{"argument", []string{"gc", "extra"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(ctx, tc.args, &stdout, &stderr); code != tc.want {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.want, stderr.String())
			}
		})
	}
}

// TestExpireUploads checks serve's expiry loop removes an abandoned session
// on its first round and stops with its context.
func TestExpireUploads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	up, err := root.StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		expireUploads(ctx, root, time.Nanosecond, time.Hour, zap.NewNop())
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := root.UploadStatus(ctx, "app", up.ID); errors.Is(err, errdef.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session not expired after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("expiry loop did not stop with its context")
	}
}
