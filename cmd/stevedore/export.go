package main

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newExportCmd() *cobra.Command {
	var af analyzeFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export REF",
		Short: "Write an image's merged root filesystem as one tar",
		Long: `Write the image's root filesystem, every layer applied and whiteouts removed,
as a single tar (as crane export does). Layers are read twice (once for the
file list, once for the content) and never held in memory; a registry's layers
are downloaded once, verified, and kept under $TMPDIR for the second pass (free
disk equal to the compressed image is needed). With -o, the file appears only
once the export is complete.`,
		Example: `  stevedore export 127.0.0.1:5000/app:v1 > rootfs.tar
  stevedore export -o rootfs.tar oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			e := af.engine()
			if out == "" || out == "-" {
				return e.Export(ctx, r, cmd.OutOrStdout(), af.options())
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(e.Export(ctx, r, pw, af.options())) }()
			err = writeFileAtomic(out, pr)
			pr.CloseWithError(err)
			return err
		},
	}
	af.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the tar to `FILE` instead of stdout")
	return cmd
}
