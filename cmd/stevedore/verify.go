package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/sign"
)

// verifyFlags are shared by verify and verify-attestation.
type verifyFlags struct {
	keys   []string
	format string
	ann    []string
	asJSON bool
}

func (v *verifyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&v.keys, "key", nil, "trusted public key file (PUBLIC KEY PEM); repeat to trust several")
	cmd.Flags().StringVar(&v.format, "format", "any", "which signatures count: bundle, legacy or any")
	cmd.Flags().StringArrayVarP(&v.ann, "annotation", "a", nil, "require this signed `KEY=VALUE` annotation (repeatable)")
	cmd.Flags().BoolVar(&v.asJSON, "json", false, "print the report as JSON on stdout")
}

// run verifies args[0] (attestations of type predicateType when att) and
// prints the report; the error is the verdict.
func (v *verifyFlags) run(cmd *cobra.Command, ef *engineFlags, ref string, att bool, predicateType string) error {
	f, err := sign.ParseFormat(v.format, true)
	if err != nil {
		return usageError{err}
	}
	annotations, err := parseKV("annotation", v.ann)
	if err != nil {
		return err
	}
	keys, err := loadPublicKeys(v.keys)
	if err != nil {
		return err
	}
	repo, id, _, err := openSigned(cmd.Context(), ef, ref)
	if err != nil {
		return err
	}
	opts := sign.VerifyOptions{Keys: keys, KeyNames: v.keys, Format: f, Annotations: annotations, PredicateType: predicateType}
	verifyFn := sign.Verify
	if att {
		verifyFn = sign.VerifyAttestation
	}
	rep, err := verifyFn(cmd.Context(), repo, id, opts)
	if err != nil {
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	if v.asJSON {
		if err := json.NewEncoder(cmd.OutOrStdout()).Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(cmd.OutOrStdout(), rep)
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	return nil
}

// printReport writes one line per finding, then the verdict.
func printReport(w io.Writer, rep *sign.Report) {
	for _, f := range rep.Findings {
		where := "referrer " + f.Manifest.String()
		if f.Tag != "" {
			where = "tag " + f.Tag + " layer " + f.Layer.String()
		}
		if f.Verified {
			fmt.Fprintf(w, "OK      %-6s %s  key %s  %s\n", f.Format, where, keyLabel(f), f.PredicateType)
		} else {
			fmt.Fprintf(w, "FAILED  %-6s %s: %s\n", f.Format, where, f.Reason)
		}
	}
	verdict := "not verified"
	if rep.Verified {
		verdict = "verified"
	}
	fmt.Fprintf(w, "%s: %s (%d found)\n", rep.Subject.Digest, verdict, len(rep.Findings))
}

func keyLabel(f sign.Finding) string {
	if f.KeyName != "" {
		return f.KeyName
	}
	return fmt.Sprint(f.Key)
}

func newVerifyCmd() *cobra.Command {
	var ef engineFlags
	var vf verifyFlags
	cmd := &cobra.Command{
		Use:   "verify --key FILE REF",
		Short: "Verify an image's cosign signatures with public keys; exit 0 only when one verifies",
		Long: `Find the signatures of REF's digest (OCI 1.1 referrers through the referrers
API or the sha256-<hex> tag schema, and the legacy sha256-<hex>.sig tag) and
check each against the --key public keys: the signature, that it signs this
digest, and the -a annotations. A report line per signature goes to stdout
(--json: the report as JSON). The exit status is 0 only when at least one
signature passes.

Stricter than cosign: a bundle must carry the cosign sign predicate type
(an attestation is not a signature) and exactly one DSSE signature. Works on
registries and on oci:DIR layouts.`,
		Example: `  stevedore verify --key cosign.pub 127.0.0.1:5000/app:v1
  stevedore verify --key a.pub --key b.pub --format bundle -a team=web 127.0.0.1:5000/app:v1
  stevedore verify --key cosign.pub --json oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return vf.run(cmd, &ef, args[0], false, "")
		},
	}
	ef.register(cmd)
	vf.register(cmd)
	return cmd
}
