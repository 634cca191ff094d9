package main

import (
	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newManifestCmd() *cobra.Command {
	var ef engineFlags
	cmd := &cobra.Command{
		Use:   "manifest REF",
		Short: "Print an image's manifest exactly as stored (raw bytes)",
		Example: `  stevedore manifest 127.0.0.1:5000/app:v1
  stevedore manifest oci:./layout:v1 | jq .`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			m, err := ef.engine().GetManifest(cmd.Context(), ref)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(m.Raw)
			return err
		},
	}
	ef.register(cmd)
	return cmd
}
