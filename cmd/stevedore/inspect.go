package main

import (
	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newInspectCmd() *cobra.Command {
	var ef engineFlags
	var opts engine.InspectOptions
	cmd := &cobra.Command{
		Use:   "inspect REF",
		Short: "Describe an image: digest, platforms, config and layers, as JSON",
		Example: `  stevedore inspect 127.0.0.1:5000/app:v1
  stevedore inspect --platform linux/arm64 docker://ghcr.io/org/app:v1
  stevedore inspect oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			info, err := ef.engine().Inspect(cmd.Context(), ref, opts)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), info)
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&opts.Platform, "platform", "", "platform of an index to describe, os/arch[/variant] (default linux/<host arch>)")
	return cmd
}
