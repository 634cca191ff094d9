package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// restartableDistribution is a distribution registry on a fixed address and
// storage root, which a test can kill and start again: what a registry
// restarted by its orchestrator mid-push looks like to a client.
type restartableDistribution struct {
	t    *testing.T
	Host string
	cfg  string
	proc *proc
	n    int
}

// extra is appended to the config (YAML).
func newRestartableDistribution(t *testing.T, extra string) *restartableDistribution {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	body := fmt.Sprintf("version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %q}}\nhttp: {addr: %q}\n", filepath.Join(dir, "root"), addr) + extra
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &restartableDistribution{t: t, Host: addr, cfg: cfg}
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *restartableDistribution) start() error {
	r.n++
	env := []string{"OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none"}
	p, err := startProc(r.t, fmt.Sprintf("distribution-restart-%d", r.n), env, "registry", "serve", r.cfg)
	if err != nil {
		return err
	}
	r.proc = p
	return p.waitReady(30*time.Second, func(ctx context.Context) error {
		return httpStatusIs(ctx, "http://"+r.Host+"/v2/", 200)
	})
}

// kill stops the registry the hard way: no draining of the upload in flight.
func (r *restartableDistribution) kill() {
	_ = r.proc.cmd.Process.Kill()
	<-r.proc.done
}

// countingSource counts the blob bytes a copy reads from its source.
type countingSource struct {
	transport.Source
	n atomic.Int64
}

func (s *countingSource) Fetch(ctx context.Context, d oci.Descriptor) (io.ReadCloser, error) {
	rc, err := s.Source.Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{readerFunc(func(p []byte) (int, error) { n, err := rc.Read(p); s.n.Add(int64(n)); return n, err }), rc}, nil
}

// bigLayout writes a one-image layout whose single layer is size random bytes.
func bigLayout(t *testing.T, size int64) (*layout.Layout, oci.Descriptor, oci.Descriptor) {
	t.Helper()
	ctx := context.Background()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "src"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	h := digest.SHA256.Digester()
	buf := make([]byte, 1<<20)
	tmp := filepath.Join(t.TempDir(), "layer")
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for w := int64(0); w < size; w += int64(len(buf)) {
		for i := 0; i+8 <= len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		f.Write(buf)
		h.Hash().Write(buf)
	}
	f.Close()
	ld := oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: h.Digest(), Size: size}
	lf, _ := os.Open(tmp)
	defer lf.Close()
	if err := fs.Put(ctx, ld, lf); err != nil {
		t.Fatal(err)
	}
	put := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := put(oci.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["`+ld.Digest.String()+`"]}}`))
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": cfg, "layers": []oci.Descriptor{ld}})
	md := put(oci.MediaTypeImageManifest, m)
	if err := fs.Tag(ctx, md, "big"); err != nil {
		t.Fatal(err)
	}
	return layout.New(fs), md, ld
}

// TestCopyResumesAfterRegistryRestart: a distribution registry killed in the
// middle of a chunked upload and started again on the same storage gets the
// rest of the blob, not the whole blob again: the copy asks where the upload
// got to and carries on from there.
func TestCopyResumesAfterRegistryRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and uploads a 128 MiB blob")
	}
	const size, chunk = 128 << 20, 8 << 20
	src, md, ld := bigLayout(t, size)
	cs := &countingSource{Source: src}
	reg := newRestartableDistribution(t, "")
	eng := engine.New(engine.Options{})
	dst, err := eng.OpenTarget(context.Background(), transport.Ref{Transport: transport.Docker, Image: oci.Reference{Registry: reg.Host, Repository: "resume/app", Tag: "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	var killedAt, resumedAt atomic.Int64
	restarted := make(chan error, 1)
	opts := imgcopy.Options{ChunkSize: chunk, Progress: func(e imgcopy.Event) {
		if e.Kind != imgcopy.KindBlobBytes || e.Desc.Digest != ld.Digest {
			return
		}
		if killed.Load() && e.Bytes != killedAt.Load() {
			// The first report after the kill says where the source was
			// reopened: near 0 for a restarted upload.
			resumedAt.CompareAndSwap(0, e.Bytes)
		}
		// Kill once 5 chunks are through; start the registry again while
		// the copy is retrying.
		if e.Bytes > 5*chunk && killed.CompareAndSwap(false, true) {
			killedAt.Store(e.Bytes)
			reg.kill()
			go func() {
				time.Sleep(300 * time.Millisecond)
				restarted <- reg.start()
			}()
		}
	}}
	start := time.Now()
	res, err := imgcopy.Copy(context.Background(), cs, "big", dst, "v1", opts)
	if !killed.Load() {
		t.Fatal("the registry was never killed: the test did not exercise a resume")
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
	t.Logf("copied %d MiB across a restart in %v: killed at %d MiB, resumed from %d MiB (%d MiB read from the source, which cannot seek)",
		size>>20, time.Since(start).Round(time.Millisecond), killedAt.Load()>>20, resumedAt.Load()>>20, cs.n.Load()>>20)
	// A restarted upload would report from 0 again; a resumed one from at
	// least the chunks the registry acknowledged before it died.
	if resumedAt.Load() < 4*chunk {
		t.Errorf("after the kill at %d the upload carried on from %d: it restarted instead of resuming", killedAt.Load(), resumedAt.Load())
	}
	// The registry checked the digest on the final PUT; read it back whole
	// (verified) from the restarted registry too.
	back, err := eng.Open(context.Background(), transport.Ref{Transport: transport.Docker, Image: oci.Reference{Registry: reg.Host, Repository: "resume/app", Tag: "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := back.Fetch(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
		t.Fatalf("reading the layer back: %d bytes, %v", n, err)
	}
}

// TestCopyPlatformsDistribution: `--platforms` with and without `--sparse`
// between two CNCF distribution registries gives the digests the docs
// promise — the source index's for a sparse copy, a new filtered index's
// otherwise — and crane reads each result. Distribution refuses an index
// whose entries it lacks unless configured for sparse indexes
// (validation.manifests.indexes.platforms: none, distribution v3), which
// the destination here is; a default one answers MANIFEST_BLOB_UNKNOWN.
func TestCopyPlatformsDistribution(t *testing.T) {
	src, err := startDistribution(t, "platforms-src", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst := newRestartableDistribution(t, "validation: {manifests: {indexes: {platforms: none}}}\n")
	checkCopyPlatforms(t, src.Host, dst.Host)
}

// TestCopyPlatformsOurRegistry: the same copies into stevedore serve, which
// accepts a sparse index as it is (distribution-spec v1.1.1 §Push lets a
// registry accept an index whose entries it lacks).
func TestCopyPlatformsOurRegistry(t *testing.T) {
	src, err := startDistribution(t, "platforms-src-ours", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := startStevedore(t, "stevedore-serve-platforms", serveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCopyPlatforms(t, src.Host, dst.Registry)
}

// checkCopyPlatforms pushes a two-platform index to the registry src and
// copies it to dst whole, filtered and sparse.
func checkCopyPlatforms(t *testing.T, srcHost, dstHost string) {
	amd := benchCopyImage(t, srcHost, "plat/app", "amd64", "amd64", 4<<20, 41)
	arm := benchCopyImage(t, srcHost, "plat/app", "arm64", "arm64", 4<<20, 51)
	ib, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{amd, arm}})
	ctx := context.Background()
	t0, err := engine.New(engine.Options{}).OpenTarget(ctx, transport.Ref{Transport: transport.Docker, Image: oci.Reference{Registry: srcHost, Repository: "plat/app", Tag: "multi"}})
	if err != nil {
		t.Fatal(err)
	}
	id := oci.Descriptor{MediaType: oci.MediaTypeImageIndex, Digest: digest.FromBytes(ib), Size: int64(len(ib))}
	if err := t0.(transport.ManifestTagger).PushTagged(ctx, id, bytes.NewReader(ib), "multi"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		same     bool
		entries  int
		hasArm64 bool
	}{
		{"all", nil, true, 2, true},
		{"filtered", []string{"--platforms", "linux/amd64"}, false, 1, false},
		{"sparse", []string{"--platforms", "linux/amd64", "--sparse"}, true, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to := dstHost + "/plat/" + tc.name + ":v1"
			out := sdCopy(t, append(tc.args, srcHost+"/plat/app:multi", to)...)
			if (out.Result.Digest == id.Digest.String()) != tc.same {
				t.Errorf("digest %s; source index %s; want same=%v", out.Result.Digest, id.Digest, tc.same)
			}
			var idx struct{ Manifests []oci.Descriptor }
			if err := json.Unmarshal(crane(t, "manifest", to), &idx); err != nil || len(idx.Manifests) != tc.entries {
				t.Fatalf("index at the destination: %v entries (%v), want %d", len(idx.Manifests), err, tc.entries)
			}
			if got := strings.TrimSpace(string(crane(t, "digest", to))); got != out.Result.Digest {
				t.Errorf("crane digest %s, stevedore reported %s", got, out.Result.Digest)
			}
			_, err := run(nil, "crane", "manifest", dstHost+"/plat/"+tc.name+"@"+arm.Digest.String())
			r, _ := run(nil, "crane", "manifest", dstHost+"/plat/"+tc.name+"@"+arm.Digest.String())
			if has := err == nil && r.Code == 0; has != tc.hasArm64 {
				t.Errorf("arm64 manifest at the destination: %v, want %v", has, tc.hasArm64)
			}
		})
	}
}
