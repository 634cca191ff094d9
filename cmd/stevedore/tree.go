package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newTreeCmd() *cobra.Command {
	var ef engineFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tree REF",
		Short: "List the signatures, attestations, SBOMs and other artifacts attached to an image",
		Long: `List what refers to REF's digest, as cosign tree does: OCI 1.1 referrers
(referrers API or tag schema) and the legacy cosign tags sha256-<hex>.sig,
.att and .sbom, sorted by kind. Notary Project signatures are listed with the
signatures. Nothing is verified.`,
		Example: `  stevedore tree 127.0.0.1:5000/app:v1
  stevedore tree --json oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			t, err := ef.engine().SignatureTree(cmd.Context(), r)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(t)
			}
			printSignTree(cmd.OutOrStdout(), args[0], t)
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tree as JSON")
	return cmd
}

// printSignTree draws t like cosign tree.
func printSignTree(w io.Writer, ref string, t *sign.Tree) {
	n := len(t.Signatures) + len(t.Attestations) + len(t.SBOMs) + len(t.Other)
	if n == 0 {
		fmt.Fprintf(w, "No supply chain artifacts found for %s@%s\n", ref, t.Subject.Digest)
		return
	}
	fmt.Fprintf(w, "Supply chain artifacts for %s@%s:\n", ref, t.Subject.Digest)
	for _, g := range []struct {
		name    string
		entries []sign.TreeEntry
	}{{"Signatures", t.Signatures}, {"Attestations", t.Attestations}, {"SBOMs", t.SBOMs}, {"Other", t.Other}} {
		if len(g.entries) == 0 {
			continue
		}
		fmt.Fprintf(w, "└── %s\n", g.name)
		for _, e := range g.entries {
			what := "referrer " + e.Manifest.Digest.String()
			if e.Tag != "" {
				what = "tag " + e.Tag
			}
			if e.Format == sign.FormatNotation {
				what = "notation " + what
			}
			kind := e.PredicateType
			if kind == "" {
				kind = e.ArtifactType
			}
			fmt.Fprintf(w, "    └── %s\n", strings.TrimSpace(what+" "+kind))
			for _, l := range e.Layers {
				fmt.Fprintf(w, "        └── %s %s\n", l.Digest, l.MediaType)
			}
		}
	}
}
