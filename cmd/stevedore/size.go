package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newSizeCmd() *cobra.Command {
	var af analyzeFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "size REF",
		Short: "Report compressed, uncompressed and wasted bytes per layer",
		Long: `Read every layer of the image once (verifying it) and report, per layer and in
total, the compressed (blob) and uncompressed (tar) sizes, the number of regular
files, and the bytes wasted: content of files that a later layer overwrites or
deletes, still downloaded but never seen.`,
		Example: `  stevedore size 127.0.0.1:5000/app:v1
  stevedore size --json oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			rep, err := af.engine().Size(cmd.Context(), r, af.options())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return printJSON(w, rep)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LAYER\tCOMPRESSED\tUNCOMPRESSED\tFILES\tWASTED\tDIGEST")
			for _, l := range rep.Layers {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", l.Layer, humanBytes(l.Compressed), humanBytes(l.Uncompressed), l.Files, humanBytes(l.Wasted), l.Digest)
			}
			fmt.Fprintf(tw, "total\t%s\t%s\t\t%s\t%s\n", humanBytes(rep.Compressed), humanBytes(rep.Uncompressed), humanBytes(rep.Wasted), rep.Digest)
			return tw.Flush()
		},
	}
	af.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
