package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newIndexCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Create and edit image indexes (multi-platform images)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newIndexCreateCmd(), newIndexAddCmd(), newIndexRemoveCmd())
	return cmd
}

// indexFlags are the flags the index verbs share.
type indexFlags struct {
	writeFlags
	annots []string
	asJSON bool
}

func (f *indexFlags) register(cmd *cobra.Command) {
	f.writeFlags.register(cmd)
	cmd.Flags().StringArrayVarP(&f.annots, "annotation", "a", nil, "set index annotation `KEY=VALUE` (repeatable)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the result as JSON")
}

// options turns the flags into index options.
func (f *indexFlags) options() (engine.IndexOptions, error) {
	var opts engine.IndexOptions
	var err error
	if opts.Annotations, err = parseKV("--annotation", f.annots); err != nil {
		return opts, err
	}
	opts.To, err = f.destination()
	return opts, err
}

// parseRefs parses the manifests an index verb lists.
func parseRefs(refs []string) ([]transport.Ref, error) {
	out := make([]transport.Ref, len(refs))
	for i, ref := range refs {
		var err error
		if out[i], err = transport.ParseRef(ref); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func newIndexCreateCmd() *cobra.Command {
	var f indexFlags
	var docker bool
	cmd := &cobra.Command{
		Use:   "create -t DST MANIFEST...",
		Short: "Build an index of the given manifests",
		Long: `Build an image index (or, with --docker, a Docker manifest list) listing each
MANIFEST with its platform (from its config), push it and everything it
references to DST, and print its digest. A MANIFEST that is an index
contributes its entries; members may live in other repositories than DST.`,
		Example: `  stevedore index create -t 127.0.0.1:5000/app:v1 127.0.0.1:5000/app:v1-amd64 127.0.0.1:5000/app:v1-arm64
  stevedore index create -t oci:./layout:multi oci:./layout:amd64 oci:./layout:arm64 --annotation org.opencontainers.image.version=1`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.dst == "" {
				return usageError{fmt.Errorf("-t DST is required")}
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			opts.Docker = docker
			members, err := parseRefs(args)
			if err != nil {
				return err
			}
			res, err := f.engine().CreateIndex(cmd.Context(), members, opts)
			if err != nil {
				return err
			}
			return printResult(cmd, res, f.asJSON)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&docker, "docker", false, "write a Docker manifest list instead of an OCI image index")
	return cmd
}

func newIndexAddCmd() *cobra.Command {
	var f indexFlags
	cmd := &cobra.Command{
		Use:   "add INDEX MANIFEST...",
		Short: "Add manifests to an index, replacing entries of the same platform",
		Long: `Write a new index: INDEX's entries, with each MANIFEST added (an entry of the
same platform or digest is replaced in place). It is pushed to -t DST (default:
INDEX's repository and tag) and its digest printed; INDEX's digest still names
the old index.`,
		Example: `  stevedore index add 127.0.0.1:5000/app:v1 127.0.0.1:5000/app:v1-s390x
  stevedore index add oci:./layout:multi oci:./layout:arm64-fixed -t oci:./layout:multi2`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			refs, err := parseRefs(args)
			if err != nil {
				return err
			}
			res, err := f.engine().AddToIndex(cmd.Context(), refs[0], refs[1:], opts)
			if err != nil {
				return err
			}
			return printResult(cmd, res, f.asJSON)
		},
	}
	f.register(cmd)
	return cmd
}

func newIndexRemoveCmd() *cobra.Command {
	var f indexFlags
	var platforms []string
	cmd := &cobra.Command{
		Use:   "remove INDEX --platform OS/ARCH[/VARIANT]...",
		Short: "Remove platforms from an index",
		Long: `Write a new index without the entries of the given platforms (no variant
matches any variant). It is pushed to -t DST (default: INDEX's repository and
tag) and its digest printed; INDEX's digest still names the old index.`,
		Example: `  stevedore index remove 127.0.0.1:5000/app:v1 --platform linux/s390x
  stevedore index remove oci:./layout:multi --platform linux/arm/v6 --platform linux/386 -t oci:./layout:slim`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(platforms) == 0 {
				return usageError{fmt.Errorf("--platform is required")}
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			ref, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			res, err := f.engine().RemoveFromIndex(cmd.Context(), ref, platforms, opts)
			if err != nil {
				return err
			}
			return printResult(cmd, res, f.asJSON)
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVar(&platforms, "platform", nil, "remove this platform, os/arch[/variant] (repeatable)")
	return cmd
}
