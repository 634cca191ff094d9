package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newRebaseCmd() *cobra.Command {
	var wf writeFlags
	var oldBase, newBase string
	var platforms []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rebase REF --new-base NEW [--old-base OLD]",
		Short: "Move an image from one base image to another",
		Long: `Replace the base layers of REF: its first layers must be exactly OLD's layers
(checked by digest, and against the org.opencontainers.image.base.digest
annotation when REF has one); they are replaced by NEW's layers, and the image's
own layers, config and history above the base are kept. diff_ids and history
are rebuilt and the base annotations name NEW. On an index, each platform is
rebased onto the same platform of OLD and NEW when those are indexes.

Without --old-base, the base REF records in its annotations
(org.opencontainers.image.base.name and .digest) is used.

The new image is pushed to -t DST (default: REF's repository and tag) and its
digest printed; REF's digest still names the old image.`,
		Example: `  stevedore rebase 127.0.0.1:5000/app:v1 --old-base 127.0.0.1:5000/base:1.0 --new-base 127.0.0.1:5000/base:1.1 -t 127.0.0.1:5000/app:v1-rebased
  stevedore rebase oci:./layout:app --old-base oci:./layout:base-old --new-base oci:./layout:base-new
  stevedore rebase 127.0.0.1:5000/app:v1 --new-base docker.io/library/alpine:3.20`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if newBase == "" {
				return usageError{fmt.Errorf("--new-base is required")}
			}
			opts := engine.RebaseOptions{Platforms: platforms}
			var err error
			if opts.NewBase, err = transport.ParseRef(newBase); err != nil {
				return err
			}
			if oldBase != "" {
				if opts.OldBase, err = transport.ParseRef(oldBase); err != nil {
					return err
				}
			}
			return runMutate(cmd, &wf, args[0], asJSON, func(e *engine.Engine, ref, to transport.Ref) (*engine.WriteResult, error) {
				opts.To = to
				return e.Rebase(cmd.Context(), ref, opts)
			})
		},
	}
	wf.register(cmd)
	cmd.Flags().StringVar(&oldBase, "old-base", "", "the base `REF` the image was built on (default: from its base annotations)")
	cmd.Flags().StringVar(&newBase, "new-base", "", "the base `REF` to move the image onto")
	cmd.Flags().StringArrayVar(&platforms, "platform", nil, "rebase only this platform of an index (repeatable; default: every platform)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
