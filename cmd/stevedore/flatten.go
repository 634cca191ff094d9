package main

import (
	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newFlattenCmd() *cobra.Command {
	var wf writeFlags
	var platforms []string
	var compression string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "flatten REF",
		Short: "Squash an image's layers into one",
		Long: `Write a new image whose only layer is REF's merged root filesystem (every layer
applied, whiteouts removed, as stevedore export writes it), with the same
config, one history entry, and no base annotations. Layers are streamed; the
new layer is spooled to a temporary file, never held in memory.

The new image is pushed to -t DST (default: REF's repository and tag) and its
digest printed; REF's digest still names the old image.`,
		Example: `  stevedore flatten 127.0.0.1:5000/app:v1 -t 127.0.0.1:5000/app:flat
  stevedore flatten oci:./layout:v1 -t oci:./layout:flat --compression zstd
  stevedore flatten 127.0.0.1:5000/app:v1 --platform linux/amd64 -t 127.0.0.1:5000/app:flat`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := layer.ParseCompression(compression)
			if err != nil {
				return usageError{err}
			}
			return runMutate(cmd, &wf, args[0], asJSON, func(e *engine.Engine, ref, to transport.Ref) (*engine.WriteResult, error) {
				return e.Mutate(cmd.Context(), ref, engine.MutateOptions{To: to, Platforms: platforms, Flatten: &mutate.Flatten{Compression: c}})
			})
		},
	}
	wf.register(cmd)
	cmd.Flags().StringArrayVar(&platforms, "platform", nil, "flatten only this platform of an index (repeatable; default: every platform)")
	cmd.Flags().StringVar(&compression, "compression", "gzip", "compress the new layer with `gzip`, `zstd` or none")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
