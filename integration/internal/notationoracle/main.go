// Command notationoracle signs and verifies Notary Project signatures with
// the Notary Project's own Go library, notation-go, as the notation CLI
// does: the oracle of the notation interop tests (the notation CLI's module
// is not available to this project). It is a test program, never part of
// stevedore; it reaches registries through oras-go, as notation does.
//
//	notationoracle sign -key K -chain C [-envelope jws|cose] [-m k=v] HOST/REPO@DIGEST
//	notationoracle verify -trust-policy P -trust-store DIR [-oci-layout DIR] HOST/REPO@DIGEST
//
// Registries are spoken to over plain HTTP (they run on 127.0.0.1). verify
// reads the trust store as notation does (DIR/x509/TYPE/NAME/*); its exit
// status is 0 when a signature verifies, 1 when none does, 2 on misuse.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"oras.land/oras-go/v2/registry/remote"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "sign":
		err = signCmd(os.Args[2:])
	case "verify":
		err = verifyCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "notationoracle:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: notationoracle sign|verify [flags] HOST/REPO@DIGEST")
	os.Exit(2)
}

// repository opens ref's repository: an OCI layout when layout is set,
// else the registry over plain HTTP.
func repository(ref, layout string) (registry.Repository, error) {
	if layout != "" {
		return registry.NewOCIRepository(layout, registry.RepositoryOptions{})
	}
	r, err := remote.NewRepository(ref)
	if err != nil {
		return nil, err
	}
	r.PlainHTTP = true
	return registry.NewRepository(r), nil
}

type metadata map[string]string

func (m metadata) String() string { return fmt.Sprint(map[string]string(m)) }

func (m metadata) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return errors.New("want KEY=VALUE")
	}
	m[k] = v
	return nil
}

func signCmd(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ExitOnError)
	key := fs.String("key", "", "PEM private key")
	chain := fs.String("chain", "", "PEM certificate chain, leaf first")
	envelope := fs.String("envelope", "jws", "jws or cose")
	meta := metadata{}
	fs.Var(meta, "m", "user metadata KEY=VALUE (repeatable)")
	fs.Parse(args)
	if fs.NArg() != 1 || *key == "" || *chain == "" {
		usage()
	}
	mt := map[string]string{"jws": jws.MediaTypeEnvelope, "cose": cose.MediaTypeEnvelope}[*envelope]
	s, err := signer.NewFromFiles(*key, *chain)
	if err != nil {
		return err
	}
	repo, err := repository(fs.Arg(0), "")
	if err != nil {
		return err
	}
	desc, err := notation.Sign(context.Background(), s, repo, notation.SignOptions{
		SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: mt},
		ArtifactReference: fs.Arg(0), UserMetadata: meta,
	})
	if err != nil {
		return err
	}
	fmt.Println(desc.Digest)
	return nil
}

func verifyCmd(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	policy := fs.String("trust-policy", "", "trustpolicy.json")
	store := fs.String("trust-store", "", "trust store directory (named truststore, as in notation's configuration directory)")
	layout := fs.String("oci-layout", "", "verify in this OCI layout instead of the registry")
	fs.Parse(args)
	if fs.NArg() != 1 || *policy == "" || *store == "" {
		usage()
	}
	if filepath.Base(*store) != "truststore" {
		return errors.New("the trust store directory must be named truststore (notation's layout)")
	}
	raw, err := os.ReadFile(*policy)
	if err != nil {
		return err
	}
	var doc trustpolicy.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	v, err := verifier.New(&doc, truststore.NewX509TrustStore(dir.NewSysFS(filepath.Dir(*store))), nil)
	if err != nil {
		return err
	}
	repo, err := repository(fs.Arg(0), *layout)
	if err != nil {
		return err
	}
	desc, outcomes, err := notation.Verify(context.Background(), v, repo, notation.VerifyOptions{ArtifactReference: fs.Arg(0), MaxSignatureAttempts: math.MaxInt32})
	if err != nil {
		return err
	}
	for _, o := range outcomes {
		meta, _ := o.UserMetadata()
		fmt.Printf("verified %s %v\n", desc.Digest, meta)
	}
	return nil
}
