package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newAppendCmd() *cobra.Command {
	var f imageFlags
	var tag string
	var files []string
	var emptyBase bool
	cmd := &cobra.Command{
		Use:   "append REF -f LAYER [-t DST]",
		Short: "Add layers on top of an image or index, writing a new image",
		Long: `Add each -f (a tar file, plain or gzip or zstd, or a directory) as a new layer
on top of the image REF names, with a new config and manifest, and write the
result to DST (default: REF's own repository and tag, which then moves to the new
image). The original image is never changed: its digest still names it.

When REF is an index, the layers go on every platform, or with --platform only on
the matching entries; the result is a new index in which the other entries are
unchanged. With --oci-empty-base, REF is omitted and the layers go on scratch.

Directories and tars are written as for build (sorted, links kept as links,
--reproducible or SOURCE_DATE_EPOCH normalising owners and times). The new digest
is printed on stdout.`,
		Example: `  stevedore append 127.0.0.1:5000/app:v1 -f ./extra.tar -t 127.0.0.1:5000/app:v1-extra
  stevedore append oci:./layout:v1 -f ./config-dir --platform linux/arm64 -t oci:./layout:v1-arm-patched
  stevedore append --oci-empty-base -f rootfs.tar.gz -t oci-archive:app.tar:v1
  stevedore append 127.0.0.1:5000/app:v1 -f patch.tar --env DEBUG=1 --compress zstd`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(files) == 0 {
				return usageError{fmt.Errorf("-f LAYER is required")}
			}
			switch {
			case emptyBase && len(args) == 1:
				return usageError{fmt.Errorf("--oci-empty-base takes no REF")}
			case emptyBase && tag == "":
				return usageError{fmt.Errorf("--oci-empty-base needs -t DST")}
			case !emptyBase && len(args) == 0:
				return usageError{fmt.Errorf("give the image REF to append to, or --oci-empty-base")}
			}
			bo, err := f.options(files)
			if err != nil {
				return err
			}
			opts := engine.AppendOptions{Options: bo}
			var ref transport.Ref
			if !emptyBase {
				if ref, err = transport.ParseRef(args[0]); err != nil {
					return err
				}
			}
			if tag != "" {
				if opts.To, err = transport.ParseRef(tag); err != nil {
					return err
				}
			}
			res, err := f.engine().Append(cmd.Context(), ref, opts)
			if err != nil {
				return err
			}
			return f.printResult(cmd, res)
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "a layer to add, a tar file or `DIR` (repeatable, bottom first)")
	cmd.Flags().StringVarP(&tag, "tag", "t", "", "where to write the result, `DST` (default REF)")
	cmd.Flags().BoolVar(&emptyBase, "oci-empty-base", false, "append to scratch instead of an image")
	cmd.Flags().StringVar(&f.platform, "platform", "", "with an index, change only this platform's entries, os/arch[/variant] (default: every platform); on scratch, the image's platform")
	return cmd
}
