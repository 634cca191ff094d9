package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newHistoryCmd() *cobra.Command {
	var af analyzeFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history REF",
		Short: "Show an image's build history, with the layer each step made",
		Long: `List the history entries of the image's config, oldest first, each with the
layer it made (empty steps such as ENV make none) and that layer's size. No
layer is read.`,
		Example: `  stevedore history 127.0.0.1:5000/app:v1
  stevedore history --json --platform linux/arm64 docker://ghcr.io/org/app:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			h, err := af.engine().History(cmd.Context(), r, af.options())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return printJSON(w, h)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LAYER\tCREATED\tSIZE\tCREATED BY")
			for _, e := range h {
				layer, size, created := "-", "0 B", ""
				if e.Layer >= 0 {
					layer, size = fmt.Sprint(e.Layer), humanBytes(e.Size)
				}
				if e.Created != nil {
					created = e.Created.UTC().Format(time.RFC3339)
				}
				by := strings.Join(strings.Fields(e.CreatedBy), " ")
				if len(by) > 100 {
					by = by[:97] + "..."
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", layer, created, size, by)
			}
			return tw.Flush()
		},
	}
	af.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the history as JSON")
	return cmd
}
