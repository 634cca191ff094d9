// Command getblob downloads one blob through the Go client (OpenBlob, which
// verifies the digest) into a file; clients/bench.sh times it.
//
//	getblob GRPC_ADDR REPO@sha256:... FILE
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: getblob GRPC_ADDR REPO@DIGEST FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "getblob:", err)
		os.Exit(1)
	}
}

func run(addr, ref, path string) error {
	c, err := stevedoreclient.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	blob, err := c.OpenBlob(context.Background(), ref)
	if err != nil {
		return err
	}
	defer blob.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, blob); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
