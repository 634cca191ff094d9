package oci

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Platforms are written os/arch[/variant] wherever a person or a request
// names one (--platform, the API's platform fields), parsed by
// ParsePlatform and compared by PlatformMatches: the one parser and the one
// matcher of the engine.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions

// ParsePlatform parses os/arch[/variant].
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]: %w", s, errdef.ErrInvalid)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// ParsePlatforms parses each of ss with ParsePlatform.
func ParsePlatforms(ss []string) ([]Platform, error) {
	var out []Platform
	for _, s := range ss {
		p, err := ParsePlatform(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// DefaultPlatform is linux on the host's architecture: the platform an
// index is read for when none is named, as docker pull does.
func DefaultPlatform() Platform { return Platform{OS: "linux", Architecture: runtime.GOARCH} }

// PlatformString formats p as os/arch[/variant], the form --platform takes.
func PlatformString(p *Platform) string {
	if p == nil {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// PlatformMatches reports whether p, an index entry's or an image's
// platform, satisfies want. OS and architecture must be equal. A want
// without variant matches any variant (`docker pull --platform linux/arm64`
// takes any arm64); otherwise the variants must be equal once an absent
// variant is read as its architecture's usual one (arm64 is v8, arm is
// v7), as containerd's platform matcher reads them.
func PlatformMatches(want Platform, p *Platform) bool {
	if p == nil || p.OS != want.OS || p.Architecture != want.Architecture {
		return false
	}
	return want.Variant == "" || variant(p) == variant(&want)
}

// variant is p's variant, or its architecture's usual one.
func variant(p *Platform) string {
	if p.Variant != "" {
		return p.Variant
	}
	switch p.Architecture {
	case "arm64":
		return "v8"
	case "arm":
		return "v7"
	}
	return ""
}

// ChoosePlatform returns the first entry of index m whose platform matches
// want.
func ChoosePlatform(m *Manifest, want Platform) (Descriptor, bool) {
	for _, d := range m.Manifests {
		if PlatformMatches(want, d.Platform) {
			return d, true
		}
	}
	return Descriptor{}, false
}

// IsAttestationPlatform reports whether p is unknown/unknown, the platform
// BuildKit gives the attestation manifests it lists in an index beside the
// images they describe.
func IsAttestationPlatform(p *Platform) bool {
	return p != nil && p.OS == "unknown" && p.Architecture == "unknown"
}
