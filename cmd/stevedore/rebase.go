package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/mutate"
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
			ctx := cmd.Context()
			if newBase == "" {
				return usageError{fmt.Errorf("--new-base is required")}
			}
			if oldBase == "" {
				var err error
				if oldBase, err = recordedBase(ctx, &wf.engineFlags, args[0]); err != nil {
					return err
				}
			}
			ob, _, err := wf.openImage(ctx, oldBase)
			if err != nil {
				return err
			}
			nb, _, err := wf.openImage(ctx, newBase)
			if err != nil {
				return err
			}
			return runSteps(ctx, cmd, &wf, args[0], platforms, asJSON, mutate.Rebase{OldBase: ob, NewBase: nb})
		},
	}
	wf.register(cmd)
	cmd.Flags().StringVar(&oldBase, "old-base", "", "the base `REF` the image was built on (default: from its base annotations)")
	cmd.Flags().StringVar(&newBase, "new-base", "", "the base `REF` to move the image onto")
	cmd.Flags().StringArrayVar(&platforms, "platform", nil, "rebase only this platform of an index (repeatable; default: every platform)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// recordedBase returns NAME@DIGEST from the base annotations of the image
// manifest ref names.
func recordedBase(ctx context.Context, ef *engineFlags, ref string) (string, error) {
	r, err := transport.ParseRef(ref)
	if err != nil {
		return "", err
	}
	m, err := ef.engine().GetManifest(ctx, r)
	if err != nil {
		return "", err
	}
	name, dgst := m.Annotations[mutate.AnnotationBaseName], m.Annotations[mutate.AnnotationBaseDigest]
	if name == "" || dgst == "" {
		return "", usageError{fmt.Errorf("%s records no base (%s and %s annotations); name it with --old-base", ref, mutate.AnnotationBaseName, mutate.AnnotationBaseDigest)}
	}
	return name + "@" + dgst, nil
}
