package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine"
	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// benchCopyRun is one measured run of a copy command.
type benchCopyRun struct {
	wall, cpu time.Duration
	rss       int64
}

// benchCopyExec runs a command and measures its wall time, CPU time (user
// plus system) and peak RSS.
func benchCopyExec(args ...string) (benchCopyRun, error) {
	var errb bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return benchCopyRun{}, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, tail(errb.Bytes(), 2000))
	}
	wall := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return benchCopyRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rss: ru.Maxrss << 10}, nil
}

// benchCopyImage pushes an image of 4 incompressible layers of size/4 bytes
// to host/repo:tag (one platform of arch) and returns its manifest digest.
func benchCopyImage(t *testing.T, host, repo, tag, arch string, size int64, seed uint64) oci.Descriptor {
	t.Helper()
	ctx := context.Background()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "img"))
	if err != nil {
		t.Fatal(err)
	}
	var layers []oci.Descriptor
	var diffs []string
	for i := range 4 {
		l := writeRandomBlob(t, fs, size/4, seed+uint64(i))
		layers = append(layers, l)
		diffs = append(diffs, l.Digest.String())
	}
	put := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cb, _ := json.Marshal(map[string]any{"architecture": arch, "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffs}})
	cfg := put(oci.MediaTypeImageConfig, cb)
	mb, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": cfg, "layers": layers})
	md := put(oci.MediaTypeImageManifest, mb)
	dst, err := engine.New(engine.Options{}).OpenTarget(ctx, transport.Ref{Transport: transport.Docker, Image: oci.Reference{Registry: host, Repository: repo, Tag: tag}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imgcopy.Copy(ctx, layout.New(fs), md.Digest.String(), dst, tag, imgcopy.Options{}); err != nil {
		t.Fatal(err)
	}
	md.Platform = &oci.Platform{OS: "linux", Architecture: arch}
	return md
}

// writeRandomBlob stores size pseudo-random (incompressible) bytes as a layer.
func writeRandomBlob(t *testing.T, fs *store.FS, size int64, seed uint64) oci.Descriptor {
	t.Helper()
	p := filepath.Join(t.TempDir(), "blob")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := digest.SHA256.Digester()
	buf := make([]byte, 1<<20)
	x := seed*0x9E3779B97F4A7C15 + 1
	for w := int64(0); w < size; w += int64(len(buf)) {
		for i := 0; i+8 <= len(buf); i += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			for j := range 8 {
				buf[i+j] = byte(x >> (8 * j))
			}
		}
		n := min(int64(len(buf)), size-w)
		f.Write(buf[:n])
		h.Hash().Write(buf[:n])
	}
	f.Close()
	d := oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: h.Digest(), Size: size}
	rf, _ := os.Open(p)
	defer rf.Close()
	if err := fs.Put(context.Background(), d, rf); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	return d
}

// TestBenchCopy compares `stevedore copy` with crane copy, skopeo copy,
// regctl image copy and oras cp on a 1 GiB (STEVEDORE_BENCH_MIB) image of 4
// incompressible layers (distribution → distribution, distribution → OCI
// layout, OCI layout → distribution, where crane's verb is crane push) and
// on a 2-platform index (--all) of half that per platform,
// reporting median wall time, CPU seconds and peak RSS of
// STEVEDORE_BENCH_RUNS runs (3), each into an empty destination. A peer
// that fails is an error; it never fails on timing.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchCopy$' -v -timeout 60m ./integration/
//
// STEVEDORE_BENCH_OUT=FILE also writes the report (markdown) to FILE.
func TestBenchCopy(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	needTools(t, "crane", "skopeo", "regctl", "oras")
	size, runs := benchMiB(1024), benchRunCount(3)
	src, err := startDistribution(t, "bench-copy-src", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := benchCopyImage(t, src.Host, "bench/big", "v1", "amd64", size, 1)
	amd := benchCopyImage(t, src.Host, "bench/multi", "amd64", "amd64", size/2, 11)
	arm := benchCopyImage(t, src.Host, "bench/multi", "arm64", "arm64", size/2, 21)
	ib, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{amd, arm}})
	ctx := context.Background()
	multi, err := engine.New(engine.Options{}).OpenTarget(ctx, transport.Ref{Transport: transport.Docker, Image: oci.Reference{Registry: src.Host, Repository: "bench/multi", Tag: "all"}})
	if err != nil {
		t.Fatal(err)
	}
	id := oci.Descriptor{MediaType: oci.MediaTypeImageIndex, Digest: digest.FromBytes(ib), Size: int64(len(ib))}
	if err := multi.Push(ctx, id, bytes.NewReader(ib)); err != nil {
		t.Fatal(err)
	}
	if err := multi.Tag(ctx, id, "all"); err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s, index %s", img.Digest, id.Digest)

	// A scenario's direction: registry → registry, registry → layout, or
	// layout → registry.
	type direction int
	const (
		regToReg direction = iota
		regToLayout
		layoutToReg
	)
	type tool struct {
		name string
		args func(src, dst string, dir direction, all bool) []string
	}
	tools := []tool{
		{"stevedore copy", func(s, d string, dir direction, all bool) []string {
			switch dir {
			case regToLayout:
				d = "oci:" + d
			case layoutToReg:
				s = "oci:" + s + ":v1"
			}
			return []string{stevedoreBin, "copy", "--json", s, d}
		}},
		{"crane copy", func(s, d string, dir direction, all bool) []string {
			if dir != regToReg {
				return nil // crane pull --format=oci and crane push are other verbs; see below
			}
			// crane copies every platform of an index by default.
			return []string{"crane", "copy", "--insecure", s, d}
		}},
		{"crane pull --format oci", func(s, d string, dir direction, all bool) []string {
			if dir != regToLayout {
				return nil
			}
			return []string{"crane", "pull", "--insecure", "--format", "oci", s, d}
		}},
		{"crane push", func(s, d string, dir direction, all bool) []string {
			if dir != layoutToReg {
				return nil
			}
			// A directory is read as an OCI layout holding one image.
			return []string{"crane", "push", "--insecure", s, d}
		}},
		{"skopeo copy", func(s, d string, dir direction, all bool) []string {
			a := []string{"skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "-q"}
			if all {
				a = append(a, "--all")
			}
			switch dir {
			case regToLayout:
				return append(a, "docker://"+s, "oci:"+d+":v1")
			case layoutToReg:
				return append(a, "oci:"+s+":v1", "docker://"+d)
			}
			return append(a, "docker://"+s, "docker://"+d)
		}},
		{"regctl image copy", func(s, d string, dir direction, all bool) []string {
			switch dir {
			case regToLayout:
				d = "ocidir://" + d + ":v1"
			case layoutToReg:
				s = "ocidir://" + s + ":v1"
			}
			return []string{"regctl", "image", "copy", s, d}
		}},
		{"oras cp", func(s, d string, dir direction, all bool) []string {
			switch dir {
			case regToLayout:
				return []string{"oras", "cp", "--from-plain-http", "--to-oci-layout", s, d + ":v1"}
			case layoutToReg:
				return []string{"oras", "cp", "--from-oci-layout", "--to-plain-http", s + ":v1", d}
			}
			return []string{"oras", "cp", "--from-plain-http", "--to-plain-http", s, d}
		}},
	}
	// The layout → registry scenario's source: the big image as a layout.
	srcLayout := filepath.Join(t.TempDir(), "src-layout")
	if _, err := benchCopyExec(stevedoreBin, "copy", src.Host+"/bench/big:v1", "oci:"+srcLayout+":v1"); err != nil {
		t.Fatal(err)
	}
	// regctl reads plain-HTTP settings from its config.
	exec.Command("regctl", "registry", "set", "--tls", "disabled", src.Host).Run()
	var report strings.Builder
	fmt.Fprintf(&report, "| scenario | tool | wall (s) | CPU (s) | peak RSS (MiB) | vs stevedore (wall) |\n|---|---|---:|---:|---:|---:|\n")
	for _, sc := range []struct {
		name string
		ref  string
		dir  direction
		all  bool
	}{
		{fmt.Sprintf("%d MiB image, distribution → distribution", size>>20), src.Host + "/bench/big:v1", regToReg, false},
		{fmt.Sprintf("%d MiB image, distribution → oci: layout", size>>20), src.Host + "/bench/big:v1", regToLayout, false},
		{fmt.Sprintf("%d MiB image, oci: layout → distribution", size>>20), srcLayout, layoutToReg, false},
		{"2-platform index (--all), distribution → distribution", src.Host + "/bench/multi:all", regToReg, true},
	} {
		var base time.Duration
		for _, tl := range tools {
			var samples []benchCopyRun
			for i := range runs {
				// Each run's destination is removed after it: a full run
				// would otherwise keep tens of GiB on disk.
				var dst, dstDir string
				var stop func()
				if sc.dir == regToLayout {
					dstDir = t.TempDir()
					dst = filepath.Join(dstDir, "layout")
				} else {
					reg, err := startDistribution(t, fmt.Sprintf("bench-copy-dst-%d", i), distOptions{})
					if err != nil {
						t.Fatal(err)
					}
					exec.Command("regctl", "registry", "set", "--tls", "disabled", reg.Host).Run()
					dst, dstDir, stop = reg.Host+"/bench/copy:v1", reg.Root, reg.proc.stop
				}
				cleanup := func() {
					if stop != nil {
						stop()
					}
					os.RemoveAll(dstDir)
				}
				args := tl.args(sc.ref, dst, sc.dir, sc.all)
				if args == nil {
					cleanup()
					break
				}
				r, err := benchCopyExec(args...)
				cleanup()
				if err != nil {
					t.Errorf("%s: %v", tl.name, err)
					break
				}
				samples = append(samples, r)
			}
			if len(samples) == 0 {
				continue
			}
			sort.Slice(samples, func(i, j int) bool { return samples[i].wall < samples[j].wall })
			m := samples[len(samples)/2]
			if strings.HasPrefix(tl.name, "stevedore") {
				base = m.wall
			}
			ratio := "—"
			if base > 0 && !strings.HasPrefix(tl.name, "stevedore") {
				ratio = fmt.Sprintf("%.2f×", m.wall.Seconds()/base.Seconds())
				benchRatio(t, "copy: "+sc.name, tl.name, m.wall.Seconds()/base.Seconds())
			}
			line := fmt.Sprintf("| %s | %s | %.2f | %.2f | %d | %s |\n", sc.name, tl.name, m.wall.Seconds(), m.cpu.Seconds(), m.rss>>20, ratio)
			report.WriteString(line)
			t.Log(strings.TrimSpace(line))
		}
	}
	t.Log("\n" + report.String())
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCopyMemoryFlat: copying a 1 GiB image registry to registry keeps the
// stevedore process under 64 MiB of peak RSS: blobs stream, whatever their
// size.
func TestCopyMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 1 GiB")
	}
	src, err := startDistribution(t, "mem-copy-src", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := startDistribution(t, "mem-copy-dst", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := benchCopyImage(t, src.Host, "mem/big", "v1", "amd64", 1<<30, 31)
	r, err := benchCopyExec(stevedoreBin, "copy", "--json", src.Host+"/mem/big:v1", dst.Host+"/mem/big:v1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1 GiB copy: %.2fs wall, %.2fs CPU, peak RSS %d MiB (%s)", r.wall.Seconds(), r.cpu.Seconds(), r.rss>>20, img.Digest)
	if r.rss >= 64<<20 {
		t.Errorf("peak RSS %d MiB, want < 64 MiB", r.rss>>20)
	}
}
