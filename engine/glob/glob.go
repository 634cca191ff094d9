// Package glob matches '/'-separated names (repository paths, registry
// references) against patterns: each segment a path.Match glob, so '*'
// never crosses a '/', and a "**" segment standing for any number of whole
// segments. The trust policy and the registry's access rules both use it,
// so a pattern means the same thing in either file.
package glob

import (
	"fmt"
	"path"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Check rejects a pattern Match cannot use: an empty one, or one with a
// segment path.Match calls malformed (an unclosed '[', a trailing '\').
// Match treats a malformed segment as matching nothing, so callers check
// patterns when they load them, to fail loudly rather than never match.
func Check(pattern string) error {
	if pattern == "" {
		return fmt.Errorf("empty pattern: %w", errdef.ErrInvalid)
	}
	for _, seg := range strings.Split(pattern, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: %v: %w", pattern, err, errdef.ErrInvalid)
		}
	}
	return nil
}

// Match reports whether name matches pattern segment by segment: each
// '/'-separated segment of pattern is a path.Match glob for one segment of
// name, and a "**" segment matches any number of segments, none included
// ("team/**" matches "team" and "team/a/b").
func Match(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			// Collapse runs of "**": each would retry every split again.
			for len(pat) > 1 && pat[1] == "**" {
				pat = pat[1:]
			}
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
