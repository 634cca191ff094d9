package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
)

func newCopyCmd() *cobra.Command {
	var ef engineFlags
	var opts imgcopy.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy an image, index or artifact between registries and OCI layouts, keeping its digest",
		Long: `Copy an image, index or artifact byte for byte, so every digest stays the same.
SRC and DST use skopeo's syntax: docker://HOST/REPO:TAG (or a bare HOST/REPO:TAG),
oci:DIR[:TAG] (DST's layout is created if missing), oci-archive:FILE[:TAG] and
docker-archive:FILE[:NAME:TAG] (written whole on success, replacing FILE; a
docker-archive holds single-platform images, and reading one synthesises a
Docker manifest, so its digest is new while config and layer digests are
kept). Content DST already has is
skipped; every byte is verified; the tag is set last, so a failed copy tags nothing.

An index is copied whole (every platform; the digest is kept) unless --platform
picks one manifest of it, which is then copied and tagged on its own.

Progress goes to stderr, one line per blob and manifest; the digest copied is
printed on stdout. With --json, stdout carries newline-delimited JSON events
instead, the last one {"kind":"result","result":{...}}.`,
		Example: `  stevedore copy docker.io/library/alpine:3.20 127.0.0.1:5000/alpine:3.20
  stevedore copy --platform linux/arm64 127.0.0.1:5000/app:v1 oci:./layout:v1-arm64
  stevedore copy --json oci:./layout:v1 docker://registry.example.com/app:v1
  stevedore copy --referrers 127.0.0.1:5000/app:v1 oci-archive:app.tar:v1
  stevedore copy --platform linux/amd64 127.0.0.1:5000/app:v1 docker-archive:app.tar:app:v1`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, log := cmd.OutOrStdout(), cmd.ErrOrStderr()
			enc := json.NewEncoder(out)
			var werr error
			opts.Progress = func(e imgcopy.Event) {
				if asJSON {
					if werr == nil {
						werr = enc.Encode(e)
					}
					return
				}
				printEvent(log, e)
			}
			res, err := ef.engine().Copy(cmd.Context(), args[0], args[1], opts)
			if err != nil {
				return err
			}
			if werr != nil {
				return werr
			}
			if asJSON {
				return enc.Encode(struct {
					Kind   string          `json:"kind"`
					Result *imgcopy.Result `json:"result"`
				}{"result", res})
			}
			fmt.Fprintf(log, "copied %d blobs (%s), skipped %d; %d manifests pushed, %d present\n",
				res.BlobsCopied, humanBytes(res.Bytes), res.BlobsSkipped, res.ManifestsCopied, res.ManifestsSkipped)
			_, err = fmt.Fprintln(out, res.Digest)
			return err
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&opts.Platform, "platform", "", "copy only this platform of an index, os/arch[/variant] (default: every platform)")
	cmd.Flags().IntVar(&opts.Concurrency, "concurrency", 4, "blobs to transfer at once")
	cmd.Flags().BoolVar(&opts.Referrers, "referrers", false, "also copy the signatures, SBOMs and other artifacts referring to each copied manifest (referrers API, tag schema and cosign tags), recursively")
	cmd.Flags().Int64Var(&opts.ChunkSize, "chunk-size", 0, "upload blobs larger than this to a registry in resumable chunks of this many bytes (default 64 MiB)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write progress as newline-delimited JSON events on stdout")
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
