package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newDeleteCmd() *cobra.Command {
	var ef engineFlags
	var opts engine.DeleteOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "delete REF",
		Short: "Delete a manifest from a registry or OCI layout, or just one tag",
		Long: `Delete the manifest REF names, as crane delete does: a tag is resolved to
its digest first and the manifest is deleted by digest, which removes every
tag naming it (DELETE /v2/NAME/manifests/DIGEST; in an oci: layout, its
index.json entries and blob). Blobs the manifest referenced stay until the
registry's (or stevedore gc's) garbage collection.

With --tag-only, remove only REF's tag and keep the manifest and its other
tags (DELETE /v2/NAME/manifests/TAG). Layouts always allow it; many
registries do not (CNCF distribution refuses), which is reported.

The deleted manifest's digest is printed.`,
		Example: `  stevedore delete 127.0.0.1:5000/app@sha256:4f1c...
  stevedore delete 127.0.0.1:5000/app:old
  stevedore delete --tag-only 127.0.0.1:5000/app:old
  stevedore delete oci:./layout:old`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			desc, err := ef.engine().Delete(cmd.Context(), ref, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"digest": desc.Digest, "mediaType": desc.MediaType, "size": desc.Size, "tagOnly": opts.TagOnly})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), desc.Digest)
			return err
		},
	}
	ef.register(cmd)
	cmd.Flags().BoolVar(&opts.TagOnly, "tag-only", false, "remove only REF's tag; keep the manifest")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
