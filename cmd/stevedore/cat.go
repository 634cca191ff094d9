package main

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newCatCmd() *cobra.Command {
	var af analyzeFlags
	cmd := &cobra.Command{
		Use:   "cat REF PATH",
		Short: "Print one file of an image",
		Long: `Print the file at PATH in the image's merged filesystem, from the top-most layer
that holds it. Symlinks are followed inside the image only: an absolute target
is taken from the image root, and one that climbs out of the root is refused.`,
		Example: `  stevedore cat 127.0.0.1:5000/app:v1 /etc/os-release
  stevedore cat --platform linux/arm64 oci:./layout:v1 etc/passwd`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			rc, err := af.engine().ReadFile(cmd.Context(), r, args[1], af.options())
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(cmd.OutOrStdout(), rc)
			return err
		},
	}
	af.register(cmd)
	return cmd
}
