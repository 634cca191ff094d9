package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newAttestCmd() *cobra.Command {
	var ef engineFlags
	var pf passwordFlags
	var key, predicate, predicateType, format string
	var cf signCertFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "attest --key FILE --predicate FILE --type URI REF",
		Short: "Attach a signed in-toto attestation to an image, as cosign attest does",
		Long: `Wrap the JSON predicate in an in-toto statement about REF's digest, sign it
(DSSE) with the cosign private key, and attach it: as a Sigstore bundle
referrer (--format bundle, the default) or appended to the legacy
sha256-<hex>.att tag (--format legacy).`,
		Example: `  stevedore attest --key cosign.key --predicate prov.json --type https://slsa.dev/provenance/v1 127.0.0.1:5000/app:v1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := sign.ParseFormat(format, false)
			if err != nil {
				return usageError{err}
			}
			if predicate == "" || predicateType == "" {
				return usageError{errors.New("--predicate and --type are required")}
			}
			pred, err := os.ReadFile(predicate)
			if err != nil {
				return err
			}
			signer, err := loadSigner(cmd, key, &pf)
			if err != nil {
				return err
			}
			cert, err := cf.load(signer)
			if err != nil {
				return err
			}
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			res, err := ef.engine().Attest(cmd.Context(), r, signer, sign.AttestOptions{PredicateType: predicateType, Predicate: pred, Format: f, Cert: cert})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "attested %s: %s attestation %s\n", res.Subject.Digest, res.Format, res.Signature.Digest)
			_, err = fmt.Fprintln(cmd.OutOrStdout(), res.Signature.Digest)
			return err
		},
	}
	ef.register(cmd)
	pf.register(cmd)
	cmd.Flags().StringVar(&key, "key", "", "cosign private key file")
	cmd.Flags().StringVar(&predicate, "predicate", "", "the predicate, a JSON file")
	cmd.Flags().StringVar(&predicateType, "type", "", "the predicate type URI, e.g. https://slsa.dev/provenance/v1")
	cmd.Flags().StringVar(&format, "format", "bundle", "attestation format: bundle or legacy (sha256-<hex>.att tag)")
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was attached as JSON")
	return cmd
}

func newVerifyAttestationCmd() *cobra.Command {
	var ef engineFlags
	var vf verifyFlags
	var predicateType string
	cmd := &cobra.Command{
		Use:   "verify-attestation (--key FILE | --certificate-identity ID --certificate-oidc-issuer URL) --type URI REF",
		Short: "Verify an image's attestations of a predicate type; exit 0 only when one verifies",
		Long: `Find the attestations of REF's digest (bundle referrers and the legacy
sha256-<hex>.att tag) of the --type predicate type and check each against the
--key public keys, or, for keyless attestations, the certificate identity
flags and trust material as for verify. Report and exit status as for verify.`,
		Example: `  stevedore verify-attestation --key cosign.pub --type https://slsa.dev/provenance/v1 127.0.0.1:5000/app:v1
  stevedore verify-attestation --type https://slsa.dev/provenance/v1 \
      --certificate-identity-regexp '^https://github.com/org/' --certificate-oidc-issuer https://token.actions.githubusercontent.com \
      --certificate-github-workflow-trigger push ghcr.io/org/app:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if predicateType == "" {
				return usageError{errors.New("--type is required")}
			}
			return vf.run(cmd, &ef, args[0], true, predicateType)
		},
	}
	ef.register(cmd)
	vf.register(cmd)
	cmd.Flags().StringVar(&predicateType, "type", "", "the predicate type URI the attestation must have")
	return cmd
}
