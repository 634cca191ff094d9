package main

import (
	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
)

// engineFlags are the flags every daemonless verb shares to build its engine.
type engineFlags struct {
	insecure bool
}

func (f *engineFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS for every registry (loopback hosts use plain HTTP anyway)")
}

func (f *engineFlags) engine() *engine.Engine {
	var opts engine.Options
	opts.Registry.Insecure = f.insecure
	return engine.New(opts)
}
