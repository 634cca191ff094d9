package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newCopyCmd() *cobra.Command {
	var ef engineFlags
	var opts engine.CopyOptions
	var asJSON, all bool
	var pf passwordFlags
	var verifyPolicy, signWith, signFormat string
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy an image, index or artifact between registries and OCI layouts, keeping its digest",
		Long: `Copy an image, index or artifact byte for byte, so every digest stays the
same. Content DST already has is skipped, every byte is verified, and the tag
is set last, so a failed copy tags nothing.

SRC and DST use skopeo's syntax:
  docker://HOST/REPO[:TAG|@DIGEST]   a registry (docker:// may be left out)
  oci:DIR[:TAG|@DIGEST]              an OCI image layout (DST: created if missing)
  oci-archive:FILE[:TAG]             a tar of an OCI layout
  docker-archive:FILE[:NAME:TAG]     a docker save tar (single platform;
                                     reading one makes a new manifest digest)
Archives are written whole on success, replacing FILE.

An index is copied whole, every platform, keeping its digest. --platform picks
one manifest, copied and tagged on its own. --platforms picks several: a new
index listing only those is pushed (a new digest, printed), or with --sparse
the original index is pushed unchanged with only the chosen platforms'
content, which DST must accept.

A digest changes only when asked: --format oci|docker converts media types,
--compress gzip|zstd recompresses layers; the new digest is printed (and the
source's, in --json's result). --referrers cannot be combined with them.

Progress goes to stderr: a bar per blob on a terminal, otherwise a line per
blob and manifest; the digest copied is printed on stdout. --json writes
newline-delimited JSON events to stdout instead, the last one
{"kind":"result","result":{...}}.

--verify-policy FILE checks SRC against a trust policy (which public keys
must have signed which repositories; see docs/EXAMPLES.md) before anything is
written, then copies the verified digest with its signatures. --sign-with
KEYFILE signs the copy at DST with a cosign private key; the password comes
from --password-file, --password, $COSIGN_PASSWORD or, on a terminal, a
prompt, and is checked before the copy starts.`,
		Example: `  stevedore copy 127.0.0.1:5000/app:v1 oci:./layout:v1
  stevedore copy --platform linux/arm64 127.0.0.1:5000/app:v1 oci:./layout:v1-arm64
  stevedore copy --json oci:./layout:v1 docker://registry.example.com/app:v1
  stevedore copy --referrers 127.0.0.1:5000/app:v1 oci-archive:app.tar:v1
  stevedore copy --platform linux/amd64 127.0.0.1:5000/app:v1 docker-archive:app.tar:app:v1
  stevedore copy --platforms linux/amd64,linux/arm64 registry.example.com/app:v1 127.0.0.1:5000/app:v1
  stevedore copy --platforms linux/amd64 --sparse registry.example.com/app:v1 oci:./layout:v1
  stevedore copy --format oci --compress zstd 127.0.0.1:5000/app:v1 127.0.0.1:5000/app:v1-zstd
  stevedore copy --verify-policy policy.yaml registry.example.com/app:v1 127.0.0.1:5000/app:v1
  COSIGN_PASSWORD=secret stevedore copy --sign-with cosign.key oci:./layout:v1 127.0.0.1:5000/app:v1`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, log := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := checkPlatformFlags(all, opts.Options); err != nil {
				return err
			}
			src, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			dst, err := transport.ParseRef(args[1])
			if err != nil {
				return err
			}
			if verifyPolicy != "" {
				if opts.Policy, err = policy.Load(verifyPolicy, policyVerifiers); err != nil {
					return err
				}
			}
			if signWith != "" {
				f, err := sign.ParseFormat(signFormat, false)
				if err != nil {
					return usageError{err}
				}
				signer, err := loadSigner(cmd, signWith, &pf)
				if err != nil {
					return err
				}
				opts.Sign = &engine.CopySign{Signer: signer, Format: f}
			}
			enc := json.NewEncoder(out)
			var werr error
			var bars *barRenderer
			switch {
			case asJSON:
				opts.Progress = func(e imgcopy.Event) {
					if werr == nil {
						werr = enc.Encode(e)
					}
				}
			case isTerminal(log):
				bars = newBarRenderer(cmd.Context(), log)
				opts.Progress = bars.event
			default:
				opts.Progress = func(e imgcopy.Event) { printEvent(log, e) }
			}
			res, err := ef.engine().Copy(cmd.Context(), src, dst, opts)
			if bars != nil {
				bars.wait()
			}
			if err != nil {
				return err
			}
			if werr != nil {
				return werr
			}
			for _, s := range res.Signatures {
				fmt.Fprintf(log, "signed %s: %s signature %s\n", s.Subject.Digest, s.Format, s.Signature.Digest)
			}
			if asJSON {
				return enc.Encode(struct {
					Kind   string             `json:"kind"`
					Result *engine.CopyResult `json:"result"`
				}{"result", res})
			}
			fmt.Fprintf(log, "copied %d blobs (%s), skipped %d; %d manifests pushed, %d present\n",
				res.BlobsCopied, humanBytes(res.Bytes), res.BlobsSkipped, res.ManifestsCopied, res.ManifestsSkipped)
			if res.SourceDigest != "" && res.SourceDigest != res.Digest {
				fmt.Fprintf(log, "new digest %s (source %s)\n", res.Digest, res.SourceDigest)
			}
			_, err = fmt.Fprintln(out, res.Digest)
			return err
		},
	}
	ef.register(cmd)
	// --all (-a) once named the default, copying every platform; it stays
	// accepted, hidden, so old scripts run, but takes no shorthand: -a is
	// --annotation wherever it exists.
	cmd.Flags().BoolVar(&all, "all", false, "copy every platform of an index (the default)")
	_ = cmd.Flags().MarkDeprecated("all", "every platform is copied by default")
	cmd.Flags().StringVar(&opts.Platform, "platform", "", "copy only this platform of an index, os/arch[/variant] (default: every platform)")
	cmd.Flags().StringSliceVar(&opts.Platforms, "platforms", nil, "copy these platforms of an index, os/arch[/variant],...: a new filtered index (new digest) unless --sparse")
	cmd.Flags().BoolVar(&opts.Sparse, "sparse", false, "with --platforms: push the original index unchanged (digest kept) with only the chosen platforms' content")
	cmd.Flags().StringVar(&opts.Format, "format", "", "convert to this manifest format, oci or docker (changes digests)")
	cmd.Flags().StringVar(&opts.Compress, "compress", "", "recompress layers with gzip or zstd (changes digests)")
	cmd.Flags().IntVar(&opts.PerRegistry, "per-registry", 4, "blob transfers in flight per registry host")
	cmd.Flags().IntVar(&opts.Concurrency, "blob-concurrency", 4, "blobs of the image to transfer at once (as in mirror)")
	// --concurrency counted blobs here before it meant images (mirror's sense).
	cmd.Flags().IntVar(&opts.Concurrency, "concurrency", 4, "blobs to transfer at once")
	_ = cmd.Flags().MarkDeprecated("concurrency", "use --blob-concurrency (--concurrency counts images, in mirror)")
	cmd.Flags().BoolVar(&opts.Referrers, "referrers", false, "also copy the signatures, SBOMs and other artifacts referring to each copied manifest (referrers API, tag schema and cosign tags), recursively")
	cmd.Flags().Int64Var(&opts.ChunkSize, "chunk-size", 0, "upload blobs larger than this to a registry in resumable chunks of this many bytes (default: one streaming request per blob, resumed from what the registry holds if it breaks off)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write progress as newline-delimited JSON events on stdout")
	cmd.Flags().StringVar(&verifyPolicy, "verify-policy", "", "refuse SRC unless signed as this trust policy file requires; copies its signatures too (implies --referrers)")
	cmd.Flags().StringVar(&signWith, "sign-with", "", "sign the copy at DST with this cosign private key file")
	cmd.Flags().StringVar(&signFormat, "sign-format", "bundle", "with --sign-with: bundle (OCI 1.1 referrer, cosign v3) or legacy (sha256-<hex>.sig tag)")
	pf.register(cmd)
	return cmd
}

// printEvent writes the plain progress line of e; byte counts and starts
// are left to --json and, later, progress bars.
func printEvent(w io.Writer, e imgcopy.Event) {
	var what string
	switch e.Kind {
	case imgcopy.KindBlobDone:
		what = "copied blob"
	case imgcopy.KindBlobSkipped:
		what = "skipped blob (present)"
	case imgcopy.KindBlobMounted:
		what = "mounted blob"
	case imgcopy.KindImageDone:
		what = "pushed manifest"
	case imgcopy.KindImageSkipped:
		what = "skipped manifest (present)"
	default:
		return
	}
	fmt.Fprintf(w, "%s %s %s\n", what, e.Desc.Digest, humanBytes(e.Desc.Size))
}

// humanBytes formats n in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
