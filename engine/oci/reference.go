package oci

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Reference names an image in a registry: registry/repository[:tag][@digest].
// Docker Hub short forms are normalised: "alpine" is docker.io/library/alpine.
type Reference struct {
	Registry   string        // host[:port], e.g. "docker.io", "127.0.0.1:5000"
	Repository string        // e.g. "library/alpine"
	Tag        string        // may be empty when Digest is set
	Digest     digest.Digest // may be empty
}

// DockerHub is the registry that references without a host resolve to.
const DockerHub = "docker.io"

// TagPattern is the distribution-spec grammar of a tag.
const TagPattern = `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`

// distribution-spec v1.1.1 §Pulling manifests: the <name> grammar.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
var (
	pathComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)
	tagRE           = regexp.MustCompile(`^` + TagPattern + `$`)
	hostRE          = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$`)
)

// ParseReference parses an image reference with docker normalisation. A
// reference with neither tag nor digest gets the tag "latest".
func ParseReference(s string) (Reference, error) {
	var ref Reference
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("invalid reference %q: %s: %w", s, why, errdef.ErrInvalid)
	}
	if s == "" {
		return bad("empty")
	}
	name := s
	if i := strings.IndexByte(name, '@'); i >= 0 {
		d := digest.Digest(name[i+1:])
		if err := d.Validate(); err != nil {
			return bad("the digest is malformed: " + err.Error())
		}
		ref.Digest = d
		name = name[:i]
	}
	// A tag follows the last ':' only if no '/' comes after it (else it is a port).
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name[i+1:], "/") {
		ref.Tag = name[i+1:]
		name = name[:i]
		if !tagRE.MatchString(ref.Tag) {
			return bad("the tag must match " + TagPattern)
		}
	}
	host, repo, err := SplitRepository(name)
	if err != nil {
		return bad(err.Error())
	}
	ref.Registry, ref.Repository = host, repo
	if ref.Tag == "" && ref.Digest == "" {
		ref.Tag = "latest"
	}
	return ref, nil
}

// ValidateTag checks a tag against the distribution-spec grammar, the one
// every registry (ours included) accepts. An OCI layout takes more (see
// store.ValidateTag).
//
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func ValidateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q must match %s: %w", tag, TagPattern, errdef.ErrInvalid)
	}
	return nil
}

// SplitRepository splits "host/path" into registry and repository with docker
// normalisation, and validates both. The first component is a host when it
// contains '.' or ':' or is "localhost".
func SplitRepository(name string) (host, repo string, err error) {
	first, rest, ok := strings.Cut(name, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost" || strings.HasPrefix(first, "[")) {
		host, repo = first, rest
		if !hostRE.MatchString(host) {
			return "", "", fmt.Errorf("registry host %q is not a valid host[:port]", host)
		}
	} else {
		host, repo = DockerHub, name
	}
	if host == "index.docker.io" || host == "registry-1.docker.io" {
		host = DockerHub
	}
	if host == DockerHub && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	if err := ValidateRepository(repo); err != nil {
		return "", "", err
	}
	return host, repo, nil
}

// ValidateRepository checks a repository name (without host) against the
// distribution-spec grammar: lowercase path components separated by '/'.
func ValidateRepository(repo string) error {
	if repo == "" {
		return fmt.Errorf("repository name is empty")
	}
	if len(repo) > 255 {
		return fmt.Errorf("repository name is longer than 255 characters")
	}
	for _, c := range strings.Split(repo, "/") {
		if !pathComponentRE.MatchString(c) {
			return fmt.Errorf("repository component %q must be lowercase letters and digits separated by '.', '_', '__' or '-'", c)
		}
	}
	return nil
}

// Name returns registry/repository.
func (r Reference) Name() string { return r.Registry + "/" + r.Repository }

// Identifier returns what follows the repository in a request path: the digest
// when set (it is the stronger name), otherwise the tag.
func (r Reference) Identifier() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// String returns the reference in its full, normalised form.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}
