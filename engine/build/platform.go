package build

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// parsePlatform parses os/arch[/variant]; "" means linux/<host arch>.
func parsePlatform(s string) (*oci.Platform, error) {
	if s == "" {
		return &oci.Platform{OS: "linux", Architecture: runtime.GOARCH}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return nil, fmt.Errorf("platform %q: want os/arch[/variant]: %w", s, errdef.ErrInvalid)
	}
	p := &oci.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// matches reports whether an index entry's platform is want; a want
// without variant matches any variant, as `docker pull --platform` does.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func matches(p *oci.Platform, want *oci.Platform) bool {
	return p != nil && p.OS == want.OS && p.Architecture == want.Architecture &&
		(want.Variant == "" || p.Variant == want.Variant)
}
