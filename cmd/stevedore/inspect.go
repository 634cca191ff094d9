package main

import (
	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/service"
)

func newInspectCmd() *cobra.Command {
	var ef engineFlags
	var opts engine.InspectOptions
	cmd := &cobra.Command{
		Use:   "inspect REF",
		Short: "Describe an image: digest, platforms, config and layers, as JSON",
		Long: `Describe an image as JSON: the digest and media type REF resolves to, the
platforms of an index, and the chosen platform's config and layers. The JSON
is the REST API's (GET /v1/images:inspect) field for field, in the proto3
JSON mapping: lowerCamelCase names, 64-bit sizes as decimal strings.`,
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
			b, err := service.MarshalJSON(service.InspectResponse(info))
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&opts.Platform, "platform", "", "platform of an index to describe, os/arch[/variant] (default linux/<host arch>)")
	return cmd
}
