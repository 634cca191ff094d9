package mirror

import (
	"strings"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// merged returns the source's destination with the top-level one's fields
// filling in what the source leaves empty.
func merged(top, src Destination) Destination {
	d := top
	if src.Registry != "" {
		d.Registry = src.Registry
	}
	if src.Repository != "" {
		// An explicit repository replaces the mapping entirely.
		return Destination{Registry: d.Registry, Repository: src.Repository}
	}
	if src.Prefix != "" {
		d.Prefix = src.Prefix
	}
	if src.StripPrefix != "" {
		d.StripPrefix = src.StripPrefix
	}
	return d
}

// Map returns the destination repository (host and name) for a source
// repository name (without its host). The result is validated, since a
// prefix and a stripped name can combine into an invalid one.
func (d Destination) Map(srcRepo string) (oci.Reference, error) {
	name := d.Repository
	if name == "" {
		name = srcRepo
		if d.StripPrefix != "" {
			if rest, ok := strings.CutPrefix(name, d.StripPrefix+"/"); ok {
				name = rest
			}
		}
		if d.Prefix != "" {
			name = d.Prefix + "/" + name
		}
	}
	return oci.ParseReference(d.Registry + "/" + name)
}
