package policy

import (
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/glob"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Name is what a rule's pattern is matched against: HOST/REPO for a
// registry reference (docker.io/library/alpine), store:REPO for the served
// store (the engine names it by the served registry's address instead when
// it has one), oci:DIR as written for a layout, and TRANSPORT:FILE for an
// archive.
func Name(r transport.Ref) string {
	switch r.Transport {
	case transport.Docker:
		return r.Image.Name()
	case transport.Store:
		return transport.Store + ":" + r.Image.Repository
	}
	return r.Transport + ":" + r.Path
}

// checkPattern rejects a pattern glob.Match cannot use.
func checkPattern(p string) error {
	if err := glob.Check(p); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// match reports whether name matches pattern: glob.Match, the same matcher
// the registry's access rules use, so a pattern means one thing everywhere.
func match(pattern, name string) bool { return glob.Match(pattern, name) }
