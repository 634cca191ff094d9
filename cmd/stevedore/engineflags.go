package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// engineFlags are the flags every daemonless verb shares to build its engine.
type engineFlags struct {
	insecure bool
	data     string
}

func (f *engineFlags) register(cmd *cobra.Command) {
	f.registerNetwork(cmd)
	cmd.Flags().StringVar(&f.data, "data", os.Getenv("STEVEDORE_DATA"), "data directory of a stevedore serve, for store:REPO references (env STEVEDORE_DATA)")
}

// registerNetwork registers the flags about reaching registries only, for
// serve, which has its own --data.
func (f *engineFlags) registerNetwork(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS for every registry (loopback hosts use plain HTTP anyway)")
}

// engine builds the engine the flags describe. A data directory is opened
// only when one is named, so a plain verb never creates one.
func (f *engineFlags) engine() *engine.Engine {
	var opts engine.Options
	opts.Registry.Insecure = f.insecure
	if f.data != "" {
		if root, err := served.OpenRoot(f.data); err == nil {
			opts.Served = root.Backend()
		}
	}
	return engine.New(opts)
}
