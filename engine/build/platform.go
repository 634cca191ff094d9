package build

import (
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// parsePlatform parses Options.Platform; "" means oci.DefaultPlatform.
func parsePlatform(s string) (*oci.Platform, error) {
	if s == "" {
		p := oci.DefaultPlatform()
		return &p, nil
	}
	p, err := oci.ParsePlatform(s)
	if err != nil {
		return nil, err
	}
	return &p, nil
}
