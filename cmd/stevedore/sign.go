package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// openSigned opens the repository or layout ref names for signing or
// verifying, and returns the identifier of the image in it and the name a
// legacy payload or attestation subject records (HOST/REPO, or the layout's
// path).
func openSigned(ctx context.Context, ef *engineFlags, ref string) (sign.Repo, string, string, error) {
	r, err := transport.ParseRef(ref)
	if err != nil {
		return nil, "", "", err
	}
	src, err := ef.engine().Open(ctx, r)
	if err != nil {
		return nil, "", "", err
	}
	repo, ok := src.(sign.Repo)
	if !ok {
		return nil, "", "", fmt.Errorf("%s: signatures live in a registry or an oci: layout, not in %s: %w", r, r.Transport, errdef.ErrUnsupported)
	}
	name := r.Path
	if r.Transport == transport.Docker {
		name = r.Image.Name()
	}
	return repo, r.Identifier(), name, nil
}

func newSignCmd() *cobra.Command {
	var ef engineFlags
	var pf passwordFlags
	var key, format string
	var ann []string
	var recursive, asJSON bool
	cmd := &cobra.Command{
		Use:   "sign --key FILE REF",
		Short: "Sign an image with a cosign key, in cosign's bundle (default) or legacy format",
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
are printed on stdout.`,
		Example: `  COSIGN_PASSWORD=secret stevedore sign --key cosign.key 127.0.0.1:5000/app:v1
  stevedore sign --key cosign.key --format legacy -a team=web 127.0.0.1:5000/app@sha256:...
  stevedore sign --key cosign.key --recursive 127.0.0.1:5000/multi:v1
  stevedore sign --key cosign.key oci:./layout:v1`,
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
			signer, err := loadSigner(cmd, key, &pf)
			if err != nil {
				return err
			}
			repo, id, name, err := openSigned(cmd.Context(), &ef, args[0])
			if err != nil {
				return err
			}
			res, err := sign.Sign(cmd.Context(), repo, id, signer, sign.SignOptions{Format: f, Annotations: annotations, Recursive: recursive, Identity: name})
			if err != nil {
				return fmt.Errorf("sign %s: %w", args[0], err)
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
	cmd.Flags().StringVar(&key, "key", "", "cosign private key file (ENCRYPTED SIGSTORE PRIVATE KEY)")
	cmd.Flags().StringVar(&format, "format", "bundle", "signature format: bundle (OCI 1.1 referrer, cosign v3) or legacy (sha256-<hex>.sig tag)")
	cmd.Flags().StringArrayVarP(&ann, "annotation", "a", nil, "sign this `KEY=VALUE` annotation with the digest (repeatable)")
	cmd.Flags().BoolVar(&recursive, "recursive", false, "when REF is an index, sign each of its manifests too")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was signed as JSON")
	return cmd
}
