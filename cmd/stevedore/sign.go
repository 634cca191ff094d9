package main

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// signCertFlags attach a certificate for the signing key (cosign's
// --certificate and --certificate-chain).
type signCertFlags struct{ cert, chain string }

func (c *signCertFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.cert, "certificate", "", "PEM certificate for the signing key, stored with the signature (a private CA's or a self-managed one)")
	cmd.Flags().StringVar(&c.chain, "certificate-chain", "", "PEM chain of --certificate up to its root, leaf's issuer first (recorded in legacy signatures)")
}

// load reads the certificate for signer; nil when none is given.
func (c *signCertFlags) load(signer crypto.Signer) (*sign.SigningCert, error) {
	if c.cert == "" {
		if c.chain != "" {
			return nil, usageError{errors.New("--certificate-chain needs --certificate")}
		}
		return nil, nil
	}
	certPEM, err := os.ReadFile(c.cert)
	if err != nil {
		return nil, err
	}
	var chainPEM []byte
	if c.chain != "" {
		if chainPEM, err = os.ReadFile(c.chain); err != nil {
			return nil, err
		}
	}
	return sign.ParseSigningCert(certPEM, chainPEM, signer)
}

func newSignCmd() *cobra.Command {
	var ef engineFlags
	var pf passwordFlags
	var key, format string
	var cf signCertFlags
	var nf notationSignFlags
	var ann []string
	var recursive, asJSON bool
	cmd := &cobra.Command{
		Use:   "sign --key FILE [--format bundle|legacy|notation] REF",
		Short: "Sign an image with a cosign key (cosign's bundle or legacy format) or a key and certificate chain (Notary Project)",
		Long: `Sign an image's digest as cosign sign --key ... --tlog-upload=false does (no
transparency log, no certificate). A tag is resolved to its digest first; the
digest is what is signed.

--format bundle (default, as cosign v3): a Sigstore bundle v0.3 whose DSSE
envelope signs an in-toto statement about the digest, stored as an OCI 1.1
referrer (registries without the referrers API get the sha256-<hex> tag
schema index). --format legacy: cosign's simple-signing payload, appended to
the signature manifest at tag sha256-<hex>.sig.

REF is a registry reference (HOST/REPO:TAG, HOST/REPO@DIGEST, docker://...)
or an OCI layout (oci:DIR[:TAG|@DIGEST]). The signature manifests' digests
are printed on stdout.

--certificate (and --certificate-chain) store a certificate for the key with
the signature, as cosign does: verifiers then check it against a CA
(stevedore/cosign verify --certificate-chain CA.pem --certificate-identity ...
--certificate-oidc-issuer ... --insecure-ignore-tlog --insecure-ignore-sct)
rather than trusting the key itself.

--format notation signs as the Notary Project's notation does, with a local
key (--key: notation's unencrypted PEM key, or a cosign key) and its
certificate chain (--certificate-chain: leaf first, as notation's certificate
file; or the issuers, with the leaf in --certificate): a JWS envelope
(--signature-format cose for COSE) over the digest, with the -a annotations
as signed user metadata, pushed as an OCI 1.1 referrer (tag schema on
registries without the referrers API). notation and stevedore verify it
against a trust policy and trust store.`,
		Example: `  COSIGN_PASSWORD=secret stevedore sign --key cosign.key 127.0.0.1:5000/app:v1
  stevedore sign --key cosign.key --format legacy -a team=web 127.0.0.1:5000/app@sha256:...
  stevedore sign --key cosign.key --recursive 127.0.0.1:5000/multi:v1
  stevedore sign --key cosign.key oci:./layout:v1
  stevedore sign --key cosign.key --certificate signer.pem --certificate-chain ca-chain.pem 127.0.0.1:5000/app:v1
  stevedore sign --format notation --key notation.key --certificate-chain notation.crt 127.0.0.1:5000/app:v1
  stevedore sign --format notation --signature-format cose --expiry 2160h --key notation.key --certificate-chain notation.crt oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := sign.ParseFormat(format, false)
			if err != nil {
				return usageError{err}
			}
			annotations, err := parseKV("annotation", ann)
			if err != nil {
				return err
			}
			var signer crypto.Signer
			var cert *sign.SigningCert
			var ns sign.NotationSigner
			if f == sign.FormatNotation {
				ns, err = nf.signer(cmd, key, &pf, &cf)
			} else if cmd.Flags().Changed("signature-format") || nf.expiry != 0 {
				err = usageError{errors.New("--signature-format and --expiry apply to --format notation")}
			} else if signer, err = loadSigner(cmd, key, &pf); err == nil {
				cert, err = cf.load(signer)
			}
			if err != nil {
				return err
			}
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			res, err := ef.engine().Sign(cmd.Context(), r, signer, sign.SignOptions{Format: f, Annotations: annotations, Recursive: recursive, Cert: cert, Notation: ns})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			for _, s := range res {
				where := "referrer"
				if s.Tag != "" {
					where = "tag " + s.Tag
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "signed %s: %s signature %s (%s)\n", s.Subject.Digest, s.Format, s.Signature.Digest, where)
				fmt.Fprintln(cmd.OutOrStdout(), s.Signature.Digest)
			}
			return nil
		},
	}
	ef.register(cmd)
	pf.register(cmd)
	cmd.Flags().StringVar(&key, "key", "", "private key file: cosign's (ENCRYPTED SIGSTORE PRIVATE KEY), or with --format notation notation's PEM key")
	cmd.Flags().StringVar(&format, "format", "bundle", "signature format: bundle (OCI 1.1 referrer, cosign v3), legacy (sha256-<hex>.sig tag) or notation (Notary Project referrer)")
	cmd.Flags().StringArrayVarP(&ann, "annotation", "a", nil, "sign this `KEY=VALUE` annotation with the digest (repeatable)")
	cmd.Flags().BoolVar(&recursive, "recursive", false, "when REF is an index, sign each of its manifests too")
	cf.register(cmd)
	nf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was signed as JSON")
	return cmd
}
