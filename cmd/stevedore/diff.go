package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newDiffCmd() *cobra.Command {
	var af analyzeFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show how two images differ: config fields and files",
		Long: `Compare image A with image B: the config fields that differ (history and rootfs
left out), how many base layers they share, and the files of their merged
filesystems that B adds, removes or changes (type, mode, owner, link target,
size, or content: a file both take from the same layer entry is equal unread,
any other same-sized file is hashed while its layer streams).

Lines start with + (only in B), - (only in A) or ~ (changed).

Exit status, as diff(1)'s: 0 when the images are the same (no config field
and no file differs), 1 when they differ (or the comparison failed), 2 on a
usage error.`,
		Example: `  stevedore diff 127.0.0.1:5000/app:v1 127.0.0.1:5000/app:v2
  stevedore diff --json oci:./layout:v1 oci:./layout:v2
  stevedore diff --platform linux/arm64 127.0.0.1:5000/app:v1 127.0.0.1:5000/app:v2`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			b, err := transport.ParseRef(args[1])
			if err != nil {
				return err
			}
			rep, err := af.engine().Diff(cmd.Context(), a, b, af.options())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := printJSON(w, rep); err != nil {
					return err
				}
				return differ(rep)
			}
			fmt.Fprintf(w, "A %s\nB %s\nshared base layers: %d\n", rep.A, rep.B, rep.SharedLayers)
			for _, f := range rep.Config {
				fmt.Fprintf(w, "~ config %s: %s -> %s\n", f.Field, f.A, f.B)
			}
			for _, f := range rep.Removed {
				fmt.Fprintf(w, "- /%s\t%s %d\n", f.Path, f.Type, f.Size)
			}
			for _, f := range rep.Added {
				fmt.Fprintf(w, "+ /%s\t%s %d\n", f.Path, f.Type, f.Size)
			}
			for _, c := range rep.Changed {
				fmt.Fprintf(w, "~ /%s\t%s (%s %v %d -> %s %v %d)\n", c.Path, strings.Join(c.What, ","), c.A.Type, c.A.FileMode(), c.A.Size, c.B.Type, c.B.FileMode(), c.B.Size)
			}
			return differ(rep)
		},
	}
	af.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// differ is the exit status of diff: errDiffer when the images differ.
func differ(rep *analyze.DiffReport) error {
	if rep.Same() {
		return nil
	}
	return errDiffer
}
