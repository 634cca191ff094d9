package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newTagCmd() *cobra.Command {
	var ef engineFlags
	var del, asJSON bool
	cmd := &cobra.Command{
		Use:   "tag REF NEWTAG... | tag --delete REF",
		Short: "Point more tags at an image, or remove a tag",
		Long: `Point each NEWTAG (a bare tag, in REF's repository or layout) at the manifest
REF names; nothing is copied, so the digest is REF's, which is printed.

With --delete, remove REF's tag; the manifest it named stays. Layouts and
registries support this (a registry gets DELETE /v2/NAME/manifests/TAG).`,
		Example: `  stevedore tag 127.0.0.1:5000/app:v1.2.3 v1.2 v1 latest
  stevedore tag oci:./layout@sha256:4f1c... stable
  stevedore tag --delete oci:./layout:old`,
		Args: func(cmd *cobra.Command, args []string) error {
			if del {
				return cobra.ExactArgs(1)(cmd, args)
			}
			return cobra.MinimumNArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			if del {
				if r.TagName() == "" || r.DigestName() != "" {
					return usageError{fmt.Errorf("--delete needs REF to name a tag")}
				}
				_, err := ef.engine().Untag(cmd.Context(), r)
				return err
			}
			res, err := ef.engine().Tag(cmd.Context(), r, args[1:])
			if err != nil {
				return err
			}
			return printResult(cmd, res, asJSON)
		},
	}
	ef.register(cmd)
	cmd.Flags().BoolVarP(&del, "delete", "d", false, "remove REF's tag instead")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
