//go:build !linux

package main

import "github.com/stevedore-dev/stevedore/engine/errdef"

// descriptorLimit is unknown here: no limit is derived from it.
func descriptorLimit() int64 { return 0 }

// openDescriptors is not counted here.
func openDescriptors() (int64, error) { return 0, errdef.ErrUnsupported }

// freeSpace is not read here: --min-free-space has no effect.
func freeSpace(string) (int64, error) { return 0, errdef.ErrUnsupported }
