package integration

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	bigBlobSize = 1 << 30
	// rssLimit is the peak resident memory a process may reach while moving
	// bigBlobSize bytes: blobs are streamed, never buffered.
	rssLimit = 100 << 20
)

// TestBigBlobStreams moves a 1 GiB layer out of an OCI layout over gRPC
// GetBlob and through the CLI, and checks both stay under rssLimit.
func TestBigBlobStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: writes and streams 1 GiB (run without -short)")
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := initLayout(dir); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	layer, err := writeLayoutBlob(dir, "application/vnd.oci.image.layer.v1.tar", io.LimitReader(rand.NewChaCha8([32]byte{1}), bigBlobSize))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d byte blob in %v", layer.Size, time.Since(start))
	cfg, err := writeLayoutBlob(dir, "application/vnd.oci.image.config.v1+json", strings.NewReader(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeLayoutImage(dir, "big", cfg, []descriptor{layer}, 0); err != nil {
		t.Fatal(err)
	}
	ref := "oci:" + dir + "@" + layer.Digest

	t.Run("grpc", func(t *testing.T) {
		// A server of its own, so its peak RSS reflects this transfer only.
		s, err := startStevedore(t, "stevedore-serve-bigblob", serveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		start := time.Now()
		size, err := grpcBlob(newGRPCView(s).c, ref, 0, 0, h)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		checkSum(t, h.Sum(nil), layer)
		if size != layer.Size {
			t.Errorf("first chunk says size %d, want %d", size, layer.Size)
		}
		hwm, err := vmHWM(s.pid())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("GetBlob: %d MiB in %v (%.0f MiB/s), server peak RSS %d MiB", layer.Size>>20, elapsed, float64(layer.Size>>20)/elapsed.Seconds(), hwm>>20)
		if hwm >= rssLimit {
			t.Errorf("server peak RSS %d MiB, want < %d MiB", hwm>>20, rssLimit>>20)
		}
	})

	t.Run("cli", func(t *testing.T) {
		h := sha256.New()
		cmd := exec.Command(stevedoreBin, "blob", ref)
		cmd.Stdout = h
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("stevedore blob: %v: %s", err, stderr.String())
		}
		elapsed := time.Since(start)
		checkSum(t, h.Sum(nil), layer)
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			t.Skip("no rusage on this platform")
		}
		peak := ru.Maxrss << 10 // Linux reports KiB
		t.Logf("stevedore blob: %d MiB in %v, peak RSS %d MiB", layer.Size>>20, elapsed, peak>>20)
		if peak >= rssLimit {
			t.Errorf("CLI peak RSS %d MiB, want < %d MiB", peak>>20, rssLimit>>20)
		}
	})
}

func checkSum(t *testing.T, sum []byte, d descriptor) {
	t.Helper()
	if got := "sha256:" + hex.EncodeToString(sum); got != d.Digest {
		t.Errorf("streamed bytes hash to %s, want %s", got, d.Digest)
	}
}

// vmHWM reads a process's peak resident set size from /proc (proc(5)).
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
}
