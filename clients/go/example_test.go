package stevedoreclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/opencontainers/go-digest"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// The examples run against the in-process server TestMain starts (addr) over
// the fixture layout (fx); against a real server, addr is its --grpc-addr and
// the references name registry images (`127.0.0.1:5000/app:v1`) or layouts
// on the server (`oci:/srv/layout:v1`).

func Example() {
	c, err := stevedoreclient.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	info, err := c.Inspect(context.Background(), fx.Ref(":multi"), "linux/arm64/v8")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.GetMediaType())
	for _, p := range info.GetPlatforms() {
		fmt.Println(p.GetOs() + "/" + p.GetArchitecture())
	}
	for _, l := range info.GetLayers() {
		fmt.Println(l.GetSize())
	}
	// Output:
	// application/vnd.oci.image.index.v1+json
	// linux/amd64
	// linux/arm64
	// 11
	// 5243003
}

func ExampleClient_OpenBlob() {
	c, err := stevedoreclient.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	layer := fx.Layers[1]
	blob, err := c.OpenBlob(context.Background(), fx.Ref("@"+layer.Digest.String()))
	if err != nil {
		log.Fatal(err)
	}
	defer blob.Close()
	// io.Copy ends without error only if every byte matched the digest; a
	// dropped connection on the way is resumed where it broke off.
	d := digest.SHA256.Digester()
	n, err := io.Copy(d.Hash(), blob)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, d.Digest() == layer.Digest)
	// Output: 5243003 true
}

func ExampleClient_ListTags() {
	c, err := stevedoreclient.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	tags, err := c.ListTags(context.Background(), fx.Ref(""))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tags)
	// Output: [files multi v1]
}

func ExampleFromStatus() {
	c, err := stevedoreclient.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.GetManifest(context.Background(), fx.Ref(":no-such-tag"))
	var e *stevedoreclient.Error
	fmt.Println(errors.Is(err, errdef.ErrNotFound), errors.As(err, &e) && e.Reason == "MANIFEST_UNKNOWN")
	// Output: true true
}
