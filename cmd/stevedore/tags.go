package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newTagsCmd() *cobra.Command {
	var ef engineFlags
	cmd := &cobra.Command{
		Use:   "tags REPO",
		Short: "List the tags of a repository or OCI layout, one per line",
		Example: `  stevedore tags 127.0.0.1:5000/app
  stevedore tags oci:./layout`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			tags, err := ef.engine().ListTags(cmd.Context(), ref)
			if err != nil {
				return err
			}
			for _, t := range tags {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), t); err != nil {
					return err
				}
			}
			return nil
		},
	}
	ef.register(cmd)
	return cmd
}
