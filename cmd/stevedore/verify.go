package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// verifyFlags are shared by verify and verify-attestation.
type verifyFlags struct {
	keys   []string
	format string
	ann    []string
	asJSON bool
	cert   certFlags
	nota   notationVerifyFlags // registered by verify only
}

func (v *verifyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&v.keys, "key", nil, "trusted public key file (PUBLIC KEY PEM); repeat to trust several")
	cmd.Flags().StringVar(&v.format, "format", "any", "which signatures count: bundle, legacy, notation (verify only) or any")
	cmd.Flags().StringArrayVarP(&v.ann, "annotation", "a", nil, "require this signed `KEY=VALUE` annotation (repeatable)")
	cmd.Flags().BoolVar(&v.asJSON, "json", false, "print the report as JSON on stdout")
	v.cert.register(cmd)
}

// certFlags are cosign's flags for signatures made with a certificate
// (keyless, or a private CA).
type certFlags struct {
	id                    sign.Identity
	trustedRoot, chain    string
	ignoreTlog, ignoreSCT bool
}

func (c *certFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.id.Subject, "certificate-identity", "", "the signer a certificate must name (SAN: email, URI, ...)")
	f.StringVar(&c.id.SubjectRegexp, "certificate-identity-regexp", "", "a regexp (RE2, unanchored) the certificate's SAN must match")
	f.StringVar(&c.id.Issuer, "certificate-oidc-issuer", "", "the OIDC issuer a certificate must name, e.g. https://token.actions.githubusercontent.com")
	f.StringVar(&c.id.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "a regexp (RE2, unanchored) the certificate's OIDC issuer must match")
	f.StringVar(&c.id.GitHubWorkflowTrigger, "certificate-github-workflow-trigger", "", "the GitHub Actions event that must have triggered the signing workflow (push, release, ...)")
	f.StringVar(&c.id.GitHubWorkflowSHA, "certificate-github-workflow-sha", "", "the commit the signing workflow must have run at")
	f.StringVar(&c.id.GitHubWorkflowName, "certificate-github-workflow-name", "", "the name the signing workflow must have")
	f.StringVar(&c.id.GitHubWorkflowRepository, "certificate-github-workflow-repository", "", "the repository (OWNER/REPO) the signing workflow must belong to")
	f.StringVar(&c.id.GitHubWorkflowRef, "certificate-github-workflow-ref", "", "the git ref the signing workflow must have run on (refs/heads/main, ...)")
	f.StringVar(&c.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json to verify certificates, logs and timestamps with (default: the embedded public-good root)")
	f.StringVar(&c.chain, "certificate-chain", "", "PEM CA certificates (intermediates and the root) a signing certificate must chain to, instead of the trusted root's Fulcio CAs")
	f.BoolVar(&c.ignoreTlog, "insecure-ignore-tlog", false, "do not require a transparency log entry for certificate signatures")
	f.BoolVar(&c.ignoreSCT, "insecure-ignore-sct", false, "do not require a certificate transparency timestamp in the certificate")
}

// verifier builds the certificate verifier when an identity is asked for;
// nil, nil otherwise.
func (c *certFlags) verifier() (sign.CertVerifier, []sign.Identity, error) {
	if c.id.IsZero() {
		if c.trustedRoot != "" || c.chain != "" {
			return nil, nil, usageError{errors.New("--trusted-root and --certificate-chain need --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")}
		}
		return nil, nil, nil
	}
	if err := c.id.Validate(); err != nil {
		return nil, nil, usageError{err}
	}
	o := keyless.Options{IgnoreTlog: c.ignoreTlog, IgnoreSCT: c.ignoreSCT}
	var err error
	if c.trustedRoot != "" {
		if o.TrustedRoot, err = os.ReadFile(c.trustedRoot); err != nil {
			return nil, nil, err
		}
	}
	if c.chain != "" {
		if o.CertificateChain, err = os.ReadFile(c.chain); err != nil {
			return nil, nil, err
		}
	}
	v, err := keyless.New(o)
	if err != nil {
		return nil, nil, err
	}
	return v, []sign.Identity{c.id}, nil
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
	certs, ids, err := v.cert.verifier()
	if err != nil {
		return err
	}
	keys, err := loadPublicKeys(v.keys)
	if err != nil {
		return err
	}
	nv, scope, err := v.nota.verifier()
	if err != nil {
		return err
	}
	if len(v.keys) == 0 && certs == nil && nv == nil {
		what := "--key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]"
		if !att {
			what += ", or --trust-policy with --trust-store"
		}
		return usageError{errors.New(what + ", is required")}
	}
	r, err := transport.ParseRef(ref)
	if err != nil {
		return err
	}
	opts := sign.VerifyOptions{Keys: keys, KeyNames: v.keys, Format: f, Annotations: annotations, PredicateType: predicateType, Certs: certs, Identities: ids, Notation: nv, Scope: scope}
	verifyFn := ef.engine().Verify
	if att {
		verifyFn = ef.engine().VerifyAttestation
	}
	rep, err := verifyFn(cmd.Context(), r, opts)
	if err != nil {
		return err
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
		switch {
		case f.Verified && f.Format == sign.FormatNotation:
			fmt.Fprintf(w, "OK      %-8s %s  certificate %s (trust policy %s)\n", f.Format, where, f.Certificate.Subject, f.TrustPolicy)
		case f.Verified && f.Certificate != nil:
			fmt.Fprintf(w, "OK      %-8s %s  certificate %s (issuer %s)  %s\n", f.Format, where, f.Certificate.Subject, f.Certificate.Issuer, f.PredicateType)
		case f.Verified:
			fmt.Fprintf(w, "OK      %-8s %s  key %s  %s\n", f.Format, where, keyLabel(f), f.PredicateType)
		default:
			fmt.Fprintf(w, "FAILED  %-8s %s: %s\n", f.Format, where, f.Reason)
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
		Use:   "verify (--key FILE | --certificate-identity ID --certificate-oidc-issuer URL | --trust-policy FILE --trust-store DIR) REF",
		Short: "Verify an image's cosign signatures (key-based or keyless) or Notary Project signatures; exit 0 only when one verifies",
		Long: `Find the signatures of REF's digest (OCI 1.1 referrers through the referrers
API or the sha256-<hex> tag schema, and the legacy sha256-<hex>.sig tag) and
check each: the signature, that it signs this digest, and the -a annotations.
A report line per signature goes to stdout (--json: the report as JSON). The
exit status is 0 only when at least one signature passes.

Key-based signatures are checked against the --key public keys. Signatures
made with a certificate (cosign keyless: a Fulcio certificate, a Rekor entry,
RFC 3161 timestamps; or a private CA's certificate) are checked offline, with
sigstore-go, against --trusted-root (default: Sigstore's public-good root,
embedded) or --certificate-chain, and must name the signer given by
--certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] (and
the --certificate-github-workflow-* claims, when given). A failure says which
check failed: payload, chain, sct, tlog, timestamp, identity, issuer, claims.

Notary Project signatures (notation's JWS and COSE envelopes, found as
referrers) are checked with notation-go against a notation trust policy
(--trust-policy, notation's trustpolicy.json) and trust store (--trust-store,
laid out as notation's: x509/{ca,signingAuthority,tsa}/NAME/*.pem); the
statement applied is the one whose registryScopes name HOST/REPO (or
--scope). Offline: certificate revocation is not looked up. A failure names
the check: payload, chain, identity, timestamp, expiry, policy.

Stricter than cosign: a bundle must carry the cosign sign predicate type
(an attestation is not a signature) and exactly one DSSE signature. Works on
registries and on oci:DIR layouts.`,
		Example: `  stevedore verify --key cosign.pub 127.0.0.1:5000/app:v1
  stevedore verify --key a.pub --key b.pub --format bundle -a team=web 127.0.0.1:5000/app:v1
  stevedore verify --key cosign.pub --json oci:./layout:v1
  stevedore verify --certificate-identity https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com ghcr.io/org/repo:v1
  stevedore verify --certificate-identity-regexp '^.*@example\.com$' --certificate-oidc-issuer https://accounts.google.com \
      --trusted-root trusted_root.json 127.0.0.1:5000/app:v1
  stevedore verify --certificate-chain ca.pem --certificate-identity dev@example.com --certificate-oidc-issuer-regexp '.*' \
      --insecure-ignore-tlog --insecure-ignore-sct 127.0.0.1:5000/app:v1
  stevedore verify --trust-policy trustpolicy.json --trust-store truststore 127.0.0.1:5000/app:v1
  stevedore verify --trust-policy trustpolicy.json --trust-store truststore --scope local/app oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return vf.run(cmd, &ef, args[0], false, "")
		},
	}
	ef.register(cmd)
	vf.register(cmd)
	vf.nota.register(cmd)
	return cmd
}
