// Command mkfixture writes the client test fixture (see package fixture) into
// an OCI image layout and prints its description as JSON, for the Python and
// TypeScript client suites, which run it before starting `stevedore serve`.
//
//	go run ./clients/go/internal/mkfixture -size 268435456 DIR
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
)

func main() {
	size := flag.Int64("size", 3<<20, "size in bytes of the big layer")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: mkfixture [-size N] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *size < 0 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := fixture.Write(context.Background(), flag.Arg(0), *size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}
