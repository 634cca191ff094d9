package policy

import (
	"fmt"
	"path"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Name is what a rule's pattern is matched against: HOST/REPO for a
// registry reference (docker.io/library/alpine), oci:DIR as written for a
// layout, and TRANSPORT:FILE for an archive.
func Name(r transport.Ref) string {
	if r.Transport == transport.Docker {
		return r.Image.Name()
	}
	return r.Transport + ":" + r.Path
}

// checkPattern rejects a pattern path.Match cannot use.
func checkPattern(p string) error {
	if p == "" {
		return fmt.Errorf("policy: empty pattern: %w", errdef.ErrInvalid)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("policy: pattern %q: %v: %w", p, err, errdef.ErrInvalid)
		}
	}
	return nil
}

// match reports whether name matches pattern, segment by segment: each
// '/'-separated segment is a path.Match glob (so '*' stays inside one
// segment, as in a repository path), and a "**" segment matches any number
// of segments, none included.
func match(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegs(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
