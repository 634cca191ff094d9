package transport

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Names of the transports, as they prefix a reference (skopeo's syntax).
const (
	Docker        = "docker"
	Store         = "store"
	OCI           = "oci"
	OCIArchive    = "oci-archive"
	DockerArchive = "docker-archive"
)

// Ref is a parsed, transport-qualified image reference.
type Ref struct {
	// Transport is one of Docker, Store, OCI, OCIArchive, DockerArchive.
	Transport string
	// Image is set for Docker (the registry reference) and Store (the
	// repository of the served store, Registry empty).
	Image oci.Reference
	// Path is the directory or file for the other transports.
	Path string
	// Tag and Digest name the image inside Path; both may be empty.
	Tag    string
	Digest digest.Digest
}

// ParseRef parses "docker://REF", "store:REPO[:tag|@digest]",
// "oci:DIR[:tag|@digest]", "oci-archive:FILE[:tag]",
// "docker-archive:FILE[:tag]", or a bare registry reference, which means
// docker://. A store: reference names a repository of the registry a
// `stevedore serve` serves, read and written in its storage directly.
func ParseRef(s string) (Ref, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	switch {
	case ok && scheme == Store && !strings.HasPrefix(rest, "//"):
		return parseStoreRef(rest, s)
	case ok && scheme == Docker:
		if !strings.HasPrefix(rest, "//") {
			return Ref{}, fmt.Errorf("invalid reference %q: docker transport needs docker://: %w", s, errdef.ErrInvalid)
		}
		s = rest[2:]
	case ok && (scheme == OCI || scheme == OCIArchive || scheme == DockerArchive):
		return parsePathRef(scheme, rest, s)
	case ok && strings.HasPrefix(rest, "//"):
		return Ref{}, fmt.Errorf("invalid reference %q: unknown transport %q (want docker, store, oci, oci-archive, docker-archive): %w", s, scheme, errdef.ErrInvalid)
	}
	img, err := oci.ParseReference(s)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Transport: Docker, Image: img}, nil
}

// parseStoreRef parses REPO[:tag][@digest]: a repository name by the
// distribution-spec grammar (no host, no docker.io normalisation), "latest"
// when neither tag nor digest is given, as for a registry reference.
func parseStoreRef(rest, orig string) (Ref, error) {
	bad := func(why string) (Ref, error) {
		return Ref{}, fmt.Errorf("invalid reference %q: %s: %w", orig, why, errdef.ErrInvalid)
	}
	img := oci.Reference{}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		img.Digest = digest.Digest(rest[i+1:])
		if err := img.Digest.Validate(); err != nil {
			return bad("the digest is malformed: " + err.Error())
		}
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i+1:], "/") {
		img.Tag = rest[i+1:]
		rest = rest[:i]
		if oci.ValidateTag(img.Tag) != nil {
			return bad("the tag must match " + oci.TagPattern)
		}
	}
	if err := oci.ValidateRepository(rest); err != nil {
		return bad(err.Error())
	}
	img.Repository = rest
	if img.Tag == "" && img.Digest == "" {
		img.Tag = "latest"
	}
	return Ref{Transport: Store, Image: img}, nil
}

// IsRepository reports whether r names a repository of a registry (Docker
// or Store), whose name, tag and digest are in r.Image.
func (r Ref) IsRepository() bool { return r.Transport == Docker || r.Transport == Store }

// parsePathRef splits PATH[:tag] or PATH@digest. A ':' starts a tag only when no
// '/' follows it, so relative and absolute paths both work.
func parsePathRef(scheme, rest, orig string) (Ref, error) {
	r := Ref{Transport: scheme, Path: rest}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 && !strings.Contains(rest[i:], "/") {
		r.Digest = digest.Digest(rest[i+1:])
		r.Path = rest[:i]
		if err := r.Digest.Validate(); err != nil {
			return Ref{}, fmt.Errorf("invalid reference %q: the digest is malformed: %v: %w", orig, err, errdef.ErrInvalid)
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "/") {
		r.Tag = rest[i+1:]
		r.Path = rest[:i]
		if r.Tag == "" {
			return Ref{}, fmt.Errorf("invalid reference %q: empty tag: %w", orig, errdef.ErrInvalid)
		}
	}
	if r.Path == "" {
		return Ref{}, fmt.Errorf("invalid reference %q: %s: needs a path: %w", orig, scheme, errdef.ErrInvalid)
	}
	return r, nil
}

// Identifier returns the tag or digest that names the image inside its
// transport, as Source.Resolve takes it ("" for a layout's only image).
func (r Ref) Identifier() string {
	if r.IsRepository() {
		return r.Image.Identifier()
	}
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// TagName returns the tag r names, whatever its transport ("" when none).
func (r Ref) TagName() string {
	if r.IsRepository() {
		return r.Image.Tag
	}
	return r.Tag
}

// DigestName returns the digest r names, whatever its transport ("" when
// none).
func (r Ref) DigestName() digest.Digest {
	if r.IsRepository() {
		return r.Image.Digest
	}
	return r.Digest
}

// IsZero reports whether r is the zero Ref, which options take to mean
// that no reference was given.
func (r Ref) IsZero() bool { return r.Transport == "" }

// String formats r back into the transport-qualified form.
func (r Ref) String() string {
	switch r.Transport {
	case Docker:
		return "docker://" + r.Image.String()
	case Store:
		s := Store + ":" + r.Image.Repository
		if r.Image.Tag != "" {
			s += ":" + r.Image.Tag
		}
		if r.Image.Digest != "" {
			s += "@" + r.Image.Digest.String()
		}
		return s
	}
	s := r.Transport + ":" + r.Path
	if r.Digest != "" {
		return s + "@" + r.Digest.String()
	}
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	return s
}
