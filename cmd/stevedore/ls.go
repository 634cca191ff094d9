package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// analyzeFlags are the flags the analysis verbs share.
type analyzeFlags struct {
	engineFlags
	platform string
}

func (f *analyzeFlags) register(cmd *cobra.Command) {
	f.engineFlags.register(cmd)
	cmd.Flags().StringVar(&f.platform, "platform", "", "platform of an index to analyse, os/arch[/variant] (default linux/<host arch>)")
}

func (f *analyzeFlags) options() analyze.Options { return analyze.Options{Platform: f.platform} }

func newLsCmd() *cobra.Command {
	var af analyzeFlags
	var asJSON bool
	layer := -1
	cmd := &cobra.Command{
		Use:   "ls REF",
		Short: "List the files of an image (all layers merged, or one layer)",
		Long: `List the image's root filesystem as a container would see it: every layer applied
in order, whiteouts and opaque directories honoured (image-spec layer.md). With
--layer N, list only the entries layer N itself holds (0 is the base), whiteouts
included.`,
		Example: `  stevedore ls 127.0.0.1:5000/app:v1
  stevedore ls --json oci:./layout:v1
  stevedore ls --layer 0 --platform linux/arm64 docker://ghcr.io/org/app:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			var files []analyze.FileInfo
			if cmd.Flags().Changed("layer") {
				files, err = af.engine().LayerFiles(cmd.Context(), r, layer, af.options())
			} else {
				files, err = af.engine().Files(cmd.Context(), r, af.options())
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), files)
			}
			return printFiles(cmd.OutOrStdout(), files)
		},
	}
	af.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of file descriptions")
	cmd.Flags().IntVar(&layer, "layer", -1, "list only layer `N` (0 is the base)")
	return cmd
}

// printFiles writes an ls -l style listing.
func printFiles(w io.Writer, files []analyze.FileInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, f := range files {
		name := "/" + f.Path
		if f.Linkname != "" {
			name += " -> " + f.Linkname
		}
		fmt.Fprintf(tw, "%s\t%v\t%d/%d\t%d\t%d\t%s\n", f.Type, f.FileMode(), f.UID, f.GID, f.Size, f.Layer, name)
	}
	return tw.Flush()
}
