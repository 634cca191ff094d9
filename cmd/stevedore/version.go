package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/service/version"
)

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version of this binary",
		Long: `Print which build this is. Release binaries carry the version, commit and
build date the release stamped in (scripts/release.sh); a binary built with
go build or go install reports what Go recorded: the module's pseudo-version
("+dirty" with local changes), the commit and its time. The same version is
served as OpenAPI info.version, in the stevedore-version header of every gRPC
response and in the stevedore_build_info metric.`,
		Example: `  stevedore version
  stevedore version --json
  stevedore --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Get()
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "stevedore %s\n  commit:   %s\n  built:    %s\n  go:       %s\n  platform: %s\n",
				v.Version, orUnknown(v.Commit), orUnknown(v.BuildDate), v.GoVersion, v.Platform)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the build information as JSON")
	return cmd
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// registerBuildInfo adds stevedore_build_info, the constant-1 gauge whose
// labels name the build, with the label names of prometheus_build_info
// (client_golang's collectors/version): version, revision, goversion, and
// the build date.
func registerBuildInfo(reg prometheus.Registerer) error {
	v := version.Get()
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "stevedore_build_info",
		Help: "Always 1; the labels say which build of stevedore is serving.",
		ConstLabels: prometheus.Labels{
			"version": v.Version, "revision": v.Commit, "build_date": v.BuildDate, "goversion": v.GoVersion,
		},
	}, func() float64 { return 1 }))
}
