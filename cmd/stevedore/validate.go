package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// errInvalidImage is returned when validation found problems, for exit status 1.
var errInvalidImage = errors.New("image is not valid")

func newValidateCmd() *cobra.Command {
	var ef engineFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate REF",
		Short: "Check every descriptor, digest, size and diff_id of an image",
		Long: `Read the whole image (every platform of an index) and check that every
descriptor resolves, every blob matches its size and digest, the config's
rootfs.diff_ids match the uncompressed layers, and media types are consistent.
Each problem is listed; the exit status is 1 when there is any.`,
		Example: `  stevedore validate 127.0.0.1:5000/app:v1
  stevedore validate --json oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			af := analyzeFlags{engineFlags: ef}
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			rep, err := af.engine().Validate(cmd.Context(), r, af.options())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := printJSON(w, rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintf(w, "FAIL %s: %s\n", p.Digest, p.Message)
				}
				if rep.Valid() {
					fmt.Fprintf(w, "OK %s: %d descriptors checked\n", rep.Digest, rep.Checked)
				}
			}
			if !rep.Valid() {
				return fmt.Errorf("%s: %d problems: %w", rep.Digest, len(rep.Problems), errInvalidImage)
			}
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
