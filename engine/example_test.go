package engine_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/build"
	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// The examples work in a temporary directory, on OCI layouts (oci:DIR:TAG),
// so they need no registry; a registry reference (HOST/REPO:TAG) works the
// same wherever a reference is taken.

// workdir makes a temporary directory holding a small root filesystem,
// rootfs/etc/motd, and returns it; remove it when done.
func workdir() string {
	dir, err := os.MkdirTemp("", "stevedore-example-")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "rootfs", "etc"), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rootfs", "etc", "motd"), []byte("hello\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	return dir
}

// mustRef parses a reference, as a program does once, at its edge.
func mustRef(s string) transport.Ref {
	r, err := transport.ParseRef(s)
	if err != nil {
		log.Fatal(err)
	}
	return r
}

// buildExample builds the example image into oci:DIR/layout:v1.
func buildExample(ctx context.Context, e *engine.Engine, dir string) *engine.BuildResult {
	res, err := e.Build(ctx, mustRef("oci:"+filepath.Join(dir, "layout")+":v1"), engine.BuildOptions{Options: build.Options{
		Layers:       []build.Input{{Dir: filepath.Join(dir, "rootfs")}},
		Config:       build.Config{Env: []string{"GREETING=hello"}, Entrypoint: []string{"/bin/cat", "/etc/motd"}},
		Platform:     "linux/amd64",
		Reproducible: true,
	}})
	if err != nil {
		log.Fatal(err)
	}
	return res
}

// Build an image from a directory. With Reproducible (or a
// SourceDateEpoch), owners and times are normalised, so the same input
// always gives the same digest.
func ExampleEngine_Build() {
	ctx := context.Background()
	dir := workdir()
	defer os.RemoveAll(dir)
	e := engine.New(engine.Options{})

	first := buildExample(ctx, e, dir)
	again := buildExample(ctx, e, dir)
	fmt.Println("written to", filepath.Base(first.Destination))
	fmt.Println("layers:", len(first.Layers), first.Layers[0].MediaType)
	fmt.Println("same digest twice:", first.Digest == again.Digest)
	// Output:
	// written to layout:v1
	// layers: 1 application/vnd.oci.image.layer.v1.tar+gzip
	// same digest twice: true
}

// Inspect an image: what its reference resolves to, its config, its layers.
func ExampleEngine_Inspect() {
	ctx := context.Background()
	dir := workdir()
	defer os.RemoveAll(dir)
	e := engine.New(engine.Options{})
	built := buildExample(ctx, e, dir)

	info, err := e.Inspect(ctx, mustRef("oci:"+filepath.Join(dir, "layout")+":v1"), engine.InspectOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("digest is the build's:", info.Digest == built.Digest)
	fmt.Println("platform:", info.Config.OS+"/"+info.Config.Architecture)
	fmt.Println("env:", info.Config.Config.Env)
	fmt.Println("entrypoint:", info.Config.Config.Entrypoint)
	fmt.Println("layers:", len(info.Layers))
	// Output:
	// digest is the build's: true
	// platform: linux/amd64
	// env: [GREETING=hello]
	// entrypoint: [/bin/cat /etc/motd]
	// layers: 1
}

// Copy an image, byte for byte: every digest is kept, every byte verified,
// and content the destination holds already is skipped.
func ExampleEngine_Copy() {
	ctx := context.Background()
	dir := workdir()
	defer os.RemoveAll(dir)
	e := engine.New(engine.Options{})
	built := buildExample(ctx, e, dir)

	src := mustRef("oci:" + filepath.Join(dir, "layout") + ":v1")
	dst := mustRef("oci:" + filepath.Join(dir, "mirror") + ":v1")
	first, err := e.Copy(ctx, src, dst, engine.CopyOptions{Options: imgcopy.Options{Concurrency: 2}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("digest kept:", first.Digest == built.Digest)
	fmt.Println("first copy: blobs copied", first.BlobsCopied, "manifests pushed", first.ManifestsCopied)
	second, err := e.Copy(ctx, src, dst, engine.CopyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second copy: blobs copied", second.BlobsCopied, "manifests present", second.ManifestsSkipped)

	// Converting on the way changes the digest, and says which it read.
	docker, err := e.Copy(ctx, src, mustRef("oci:"+filepath.Join(dir, "mirror")+":docker"), engine.CopyOptions{Format: "docker"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("converted:", docker.MediaType, "from", docker.SourceDigest == built.Digest)
	// Output:
	// digest kept: true
	// first copy: blobs copied 2 manifests pushed 1
	// second copy: blobs copied 0 manifests present 1
	// converted: application/vnd.docker.distribution.manifest.v2+json from true
}

// Mutate writes a new image with the edits asked for; the source is never
// changed. Here the result goes to another tag of the same layout.
func ExampleEngine_Mutate() {
	ctx := context.Background()
	dir := workdir()
	defer os.RemoveAll(dir)
	e := engine.New(engine.Options{})
	built := buildExample(ctx, e, dir)

	layout := "oci:" + filepath.Join(dir, "layout")
	user := "1000"
	res, err := e.Mutate(ctx, mustRef(layout+":v1"), engine.MutateOptions{
		To:          mustRef(layout + ":v2"),
		Config:      mutate.Config{Env: []string{"MODE=prod"}, User: &user},
		Annotations: mutate.Annotations{Set: map[string]string{"org.opencontainers.image.version": "2"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("read", res.Source == built.Digest, "wrote a new digest", res.Digest != built.Digest, "tagged", res.Tag)
	info, err := e.Inspect(ctx, mustRef(layout+":v2"), engine.InspectOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("env:", info.Config.Config.Env)
	fmt.Println("user:", info.Config.Config.User)
	fmt.Println("version:", info.Annotations["org.opencontainers.image.version"])
	// Output:
	// read true wrote a new digest true tagged v2
	// env: [GREETING=hello MODE=prod]
	// user: 1000
	// version: 2
}

// Sign an image with a key and verify it, as cosign sign --key and cosign
// verify --key do (the signature is an OCI 1.1 referrer holding a Sigstore
// bundle). A cosign key file is read with sign.DecryptPrivateKey.
func ExampleEngine_Sign() {
	ctx := context.Background()
	dir := workdir()
	defer os.RemoveAll(dir)
	e := engine.New(engine.Options{})
	buildExample(ctx, e, dir)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}

	img := mustRef("oci:" + filepath.Join(dir, "layout") + ":v1")
	signed, err := e.Sign(ctx, img, key, sign.SignOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signatures written:", len(signed), signed[0].Format)

	rep, err := e.Verify(ctx, img, sign.VerifyOptions{Keys: []crypto.PublicKey{&key.PublicKey}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", rep.Verified, "findings:", len(rep.Findings))

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	rep, err = e.Verify(ctx, img, sign.VerifyOptions{Keys: []crypto.PublicKey{&other.PublicKey}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("another key verifies:", rep.Verified)
	// Output:
	// signatures written: 1 bundle
	// verified: true findings: 1
	// another key verifies: false
}
