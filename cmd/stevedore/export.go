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
as a single tar (as crane export does). Each layer is read once, top layer
first, and never held in memory: only the paths written and hidden so far are
remembered. Each layer is verified at its end, so on stdout a failed export may
already have written part of the tar; with -o, the file appears only once the
export is complete and every layer verified.`,
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
			return createFileAtomic(out, func(w io.Writer) error { return e.Export(ctx, r, w, af.options()) })
		},
	}
	af.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the tar to `FILE` instead of stdout")
	return cmd
}
