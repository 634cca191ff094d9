package copy

import (
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// parsePlatform checks an os/arch[/variant] string.
func parsePlatform(s string) ([]string, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return nil, fmt.Errorf("platform %q: want os/arch[/variant]: %w", s, errdef.ErrInvalid)
	}
	return parts, nil
}

// choosePlatform returns the first entry of an index matching want
// (os/arch[/variant], parsed); a want without variant matches any variant,
// as `docker pull --platform linux/arm64` does.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func choosePlatform(m *oci.Manifest, want []string) (oci.Descriptor, bool) {
	for _, d := range m.Manifests {
		p := d.Platform
		if p == nil || p.OS != want[0] || p.Architecture != want[1] {
			continue
		}
		if len(want) == 3 && p.Variant != want[2] {
			continue
		}
		return d, true
	}
	return oci.Descriptor{}, false
}
