package main

import (
	"bytes"
	"crypto"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/notation"
)

// notationVerifyFlags are notation's trust configuration for verify: its
// trust policy file and trust store directory, and the scope of an OCI
// layout (notation verify --scope).
type notationVerifyFlags struct {
	policy, store, scope string
}

func (n *notationVerifyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&n.policy, "trust-policy", "", "notation trust policy (trustpolicy.json) Notary Project signatures are verified under")
	f.StringVar(&n.store, "trust-store", "", "notation trust store directory: x509/{ca,signingAuthority,tsa}/NAME/*.pem")
	f.StringVar(&n.scope, "scope", "", "the registryScopes entry that selects the trust policy statement (default: HOST/REPO of REF; needed for an oci: layout)")
}

// verifier builds the notation verifier when a trust policy is given; nil
// otherwise. The scope is --scope's; empty lets the engine name the
// repository (HOST/REPO), which a layout cannot.
func (n *notationVerifyFlags) verifier() (sign.NotationVerifier, string, error) {
	if n.policy == "" && n.store == "" {
		if n.scope != "" {
			return nil, "", usageError{errors.New("--scope needs --trust-policy and --trust-store")}
		}
		return nil, "", nil
	}
	if n.policy == "" || n.store == "" {
		return nil, "", usageError{errors.New("--trust-policy and --trust-store go together")}
	}
	scope := n.scope
	doc, err := os.ReadFile(n.policy)
	if err != nil {
		return nil, "", err
	}
	store, err := notation.LoadTrustStore(n.store)
	if err != nil {
		return nil, "", err
	}
	v, err := notation.New(notation.Options{TrustPolicy: doc, TrustStore: store})
	if err != nil {
		return nil, "", err
	}
	return v, scope, nil
}

// notationSignFlags are the envelope options of sign --format notation.
type notationSignFlags struct {
	envelope string
	expiry   time.Duration
}

func (n *notationSignFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&n.envelope, "signature-format", "jws", "with --format notation: the envelope, jws or cose (notation's --signature-format)")
	cmd.Flags().DurationVar(&n.expiry, "expiry", 0, "with --format notation: how long the signature stays valid, e.g. 2160h (default: no expiry)")
}

// signer builds the notation signer of key (notation's unencrypted PEM key,
// or a cosign key, decrypted with the password flags) and the chain: the
// --certificate-chain file, leaf first as notation's certificate file, or
// --certificate then --certificate-chain.
func (n *notationSignFlags) signer(cmd *cobra.Command, keyPath string, pf *passwordFlags, cf *signCertFlags) (sign.NotationSigner, error) {
	mt := map[string]string{"jws": sign.MediaTypeJWS, "cose": sign.MediaTypeCOSE}[n.envelope]
	if mt == "" {
		return nil, usageError{errors.New("--signature-format is jws or cose")}
	}
	if keyPath == "" || cf.chain == "" {
		return nil, usageError{errors.New("--format notation needs --key and --certificate-chain (the key's certificate chain, leaf first, or its issuers with --certificate)")}
	}
	raw, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	var key crypto.PrivateKey
	if bytes.Contains(raw, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) || bytes.Contains(raw, []byte("ENCRYPTED COSIGN PRIVATE KEY")) {
		key, err = loadSigner(cmd, keyPath, pf)
	} else {
		key, err = notation.ParseKey(raw)
	}
	if err != nil {
		return nil, err
	}
	var pemChain []byte
	if cf.cert != "" {
		if pemChain, err = os.ReadFile(cf.cert); err != nil {
			return nil, err
		}
	}
	rest, err := os.ReadFile(cf.chain)
	if err != nil {
		return nil, err
	}
	chain, err := notation.ParseChain(append(pemChain, rest...))
	if err != nil {
		return nil, err
	}
	return notation.NewSigner(key, chain, notation.SignerOptions{MediaType: mt, Expiry: n.expiry})
}
