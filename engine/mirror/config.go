package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Config describes a mirror run. Its zero values are documented per field;
// Validate checks it and must succeed before Run uses it.
type Config struct {
	// Concurrency bounds the images copied at once; <= 0 means 8. An image
	// is mostly round trips (HEADs, a manifest PUT the registry syncs to
	// disk), so more of them in flight than blobs (PerRegistry bounds
	// those) keeps both registries busy.
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`
	// BlobConcurrency bounds the blobs each image transfers at once
	// (copy.Options.Concurrency); <= 0 means 4.
	BlobConcurrency int `yaml:"blobConcurrency" json:"blobConcurrency,omitempty"`
	// PerRegistry bounds the blob transfers in flight to or from any one
	// registry host across all the images of the run
	// (copy.Options.PerRegistry); <= 0 means 4.
	PerRegistry int `yaml:"perRegistry" json:"perRegistry,omitempty"`
	// Referrers copies what refers to each copied image (signatures, SBOMs)
	// unless a source says otherwise.
	Referrers bool `yaml:"referrers" json:"referrers,omitempty"`
	// Platforms, os/arch[/variant], is every source's platform filter unless
	// it has its own; empty copies every platform. One platform mirrors that
	// platform's manifest; several mirror an index of just those platforms
	// (copy.Options.Platforms: a new digest, which the report gives).
	Platforms []string `yaml:"platforms" json:"platforms,omitempty"`
	// VerifyPolicy is a trust policy file (engine/policy; a relative path
	// is relative to the config file) every image must satisfy before it
	// is copied; empty checks nothing. `stevedore mirror` loads it into
	// Options.Policy; Run itself reads no files.
	VerifyPolicy string `yaml:"verifyPolicy" json:"verifyPolicy,omitempty"`
	// Destination is where every source goes unless it says otherwise.
	Destination Destination `yaml:"destination" json:"destination"`
	// Sources are the repositories and images to mirror.
	Sources []Source `yaml:"sources" json:"sources"`
}

// Source is one repository whose tags are listed and filtered, or a list of
// explicit images; exactly one of Repository and Images is set.
type Source struct {
	// Repository is docker://HOST/REPO (or HOST/REPO), without tag or digest.
	Repository string `yaml:"repository" json:"repository,omitempty"`
	// Images are docker://HOST/REPO:TAG or …@DIGEST references, copied
	// without listing tags. An image named by digest only is pushed
	// untagged at the destination.
	Images []string `yaml:"images" json:"images,omitempty"`
	// Tags filters Repository's tags; the zero value keeps them all.
	Tags TagFilter `yaml:"tags" json:"tags,omitempty"`
	// Platforms overrides Config.Platforms when set (an empty list means
	// every platform).
	Platforms []string `yaml:"platforms" json:"platforms,omitempty"`
	// Referrers overrides Config.Referrers when set.
	Referrers *bool `yaml:"referrers" json:"referrers,omitempty"`
	// Destination overrides fields of Config.Destination: each one set here wins.
	Destination Destination `yaml:"destination" json:"destination,omitempty"`
}

// Destination maps a source repository to a destination one: Registry /
// Prefix / (source repository without StripPrefix), or Registry /
// Repository when Repository is set.
type Destination struct {
	// Registry is the destination host[:port]; required (here or at the top).
	Registry string `yaml:"registry" json:"registry,omitempty"`
	// Prefix is prepended to every destination repository.
	Prefix string `yaml:"prefix" json:"prefix,omitempty"`
	// StripPrefix is removed from the start of a source repository (whole
	// path components) before Prefix is added; a repository not under it is
	// kept whole.
	StripPrefix string `yaml:"stripPrefix" json:"stripPrefix,omitempty"`
	// Repository, on a source, names its destination repository outright.
	Repository string `yaml:"repository" json:"repository,omitempty"`
}

// TagFilter picks tags: Allow, then Deny, then Semver, then Newest.
type TagFilter struct {
	// Allow keeps only tags matching one of these regular expressions (Go
	// RE2 syntax, unanchored: write ^…$ to match whole tags); empty allows all.
	Allow []string `yaml:"allow" json:"allow,omitempty"`
	// Deny drops tags matching any of these.
	Deny []string `yaml:"deny" json:"deny,omitempty"`
	// Semver keeps tags that parse as semantic versions ("v" prefix and
	// missing minor/patch accepted) inside this range, e.g. ">= 1.2, < 2"
	// (github.com/Masterminds/semver constraint syntax); others are dropped.
	Semver string `yaml:"semver" json:"semver,omitempty"`
	// Newest keeps only this many tags, the highest by Order; 0 keeps all.
	Newest int `yaml:"newest" json:"newest,omitempty"`
	// Order ranks tags for Newest: "semver" (default; tags that are not
	// versions are dropped) or "lexical".
	Order string `yaml:"order" json:"order,omitempty"`
}

// Orders of TagFilter.Order.
const (
	OrderSemver  = "semver"
	OrderLexical = "lexical"
)

// ParseConfig reads a YAML (or JSON) config strictly: unknown keys, a
// second document and type mismatches are errors, and the result is
// validated.
func ParseConfig(b []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("mirror config: empty: %w", errdef.ErrInvalid)
		}
		return nil, fmt.Errorf("mirror config: %v: %w", err, errdef.ErrInvalid)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("mirror config: more than one YAML document: %w", errdef.ErrInvalid)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadConfig reads and parses the config file at path.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mirror config: %w", err)
	}
	return ParseConfig(b)
}

// Validate checks every field and reports all problems at once, as an error
// matching errdef.ErrInvalid.
func (c *Config) Validate() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if c.Concurrency < 0 {
		bad("concurrency %d: must be >= 0", c.Concurrency)
	}
	if c.BlobConcurrency < 0 {
		bad("blobConcurrency %d: must be >= 0", c.BlobConcurrency)
	}
	if c.PerRegistry < 0 {
		bad("perRegistry %d: must be >= 0", c.PerRegistry)
	}
	checkPlatforms("platforms", c.Platforms, bad)
	checkDestination("destination", c.Destination, false, bad)
	if c.Destination.Repository != "" {
		bad("destination.repository: only a source's destination can name a repository")
	}
	if len(c.Sources) == 0 {
		bad("sources: none given")
	}
	for i, s := range c.Sources {
		at := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Repository != "" && len(s.Images) > 0:
			bad("%s: set repository or images, not both", at)
		case s.Repository == "" && len(s.Images) == 0:
			bad("%s: set repository or images", at)
		case s.Repository != "":
			if _, err := parseRepository(s.Repository); err != nil {
				bad("%s.repository: %v", at, err)
			}
		default:
			for j, im := range s.Images {
				if _, err := parseImage(im); err != nil {
					bad("%s.images[%d]: %v", at, j, err)
				}
			}
			if !s.Tags.isZero() {
				bad("%s.tags: tag filters apply to a repository, not to explicit images", at)
			}
		}
		s.Tags.check(at+".tags", bad)
		checkPlatforms(at+".platforms", s.Platforms, bad)
		checkDestination(at+".destination", s.Destination, true, bad)
		if s.Destination.Registry == "" && c.Destination.Registry == "" {
			bad("%s: no destination registry (set destination.registry)", at)
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("mirror config: %s: %w", strings.Join(probs, "; "), errdef.ErrInvalid)
	}
	return nil
}

func (f TagFilter) isZero() bool {
	return len(f.Allow) == 0 && len(f.Deny) == 0 && f.Semver == "" && f.Newest == 0 && f.Order == ""
}

func (f TagFilter) check(at string, bad func(string, ...any)) {
	for i, re := range f.Allow {
		if _, err := regexp.Compile(re); err != nil {
			bad("%s.allow[%d]: %v", at, i, err)
		}
	}
	for i, re := range f.Deny {
		if _, err := regexp.Compile(re); err != nil {
			bad("%s.deny[%d]: %v", at, i, err)
		}
	}
	if f.Semver != "" {
		if _, err := semver.NewConstraint(f.Semver); err != nil {
			bad("%s.semver %q: %v", at, f.Semver, err)
		}
	}
	if f.Newest < 0 {
		bad("%s.newest %d: must be >= 0", at, f.Newest)
	}
	switch f.Order {
	case "", OrderSemver, OrderLexical:
	default:
		bad("%s.order %q: want %s or %s", at, f.Order, OrderSemver, OrderLexical)
	}
	if f.Order != "" && f.Newest == 0 {
		bad("%s.order: only meaningful with newest", at)
	}
}

func checkPlatforms(at string, ps []string, bad func(string, ...any)) {
	for i, p := range ps {
		if _, err := oci.ParsePlatform(p); err != nil {
			bad("%s[%d] %q: want os/arch[/variant]", at, i, p)
		}
	}
}

func checkDestination(at string, d Destination, source bool, bad func(string, ...any)) {
	if d.Registry != "" {
		// A repository name is needed to parse a host; "x" is a valid one.
		if r, err := oci.ParseReference(d.Registry + "/x"); err != nil || r.Registry != d.Registry {
			bad("%s.registry %q: want host[:port]", at, d.Registry)
		}
	}
	for _, p := range []struct{ name, v string }{{"prefix", d.Prefix}, {"stripPrefix", d.StripPrefix}, {"repository", d.Repository}} {
		if p.v == "" {
			continue
		}
		if err := oci.ValidateRepository(p.v); err != nil {
			bad("%s.%s %q: %v", at, p.name, p.v, err)
		}
	}
	if source && d.Repository != "" && (d.Prefix != "" || d.StripPrefix != "") {
		bad("%s: repository names the destination outright; prefix and stripPrefix do not apply", at)
	}
}

// parseRepository parses a source repository: docker transport, no tag or digest.
func parseRepository(s string) (oci.Reference, error) {
	if strings.HasPrefix(s, transport.Docker+"://") {
		s = strings.TrimPrefix(s, transport.Docker+"://")
	} else if strings.Contains(s, "://") || strings.HasPrefix(s, transport.OCI+":") {
		return oci.Reference{}, fmt.Errorf("%q: only docker:// repositories can be mirrored", s)
	}
	r, err := oci.ParseReference(s)
	if err != nil {
		return oci.Reference{}, err
	}
	if r.Digest != "" || r.Tag != "latest" || strings.HasSuffix(s, ":latest") {
		return oci.Reference{}, fmt.Errorf("%q: a repository takes no tag or digest (filter tags with tags:)", s)
	}
	r.Tag = ""
	return r, nil
}

// parseImage parses an explicit source image.
func parseImage(s string) (oci.Reference, error) {
	tr, err := transport.ParseRef(s)
	if err != nil {
		return oci.Reference{}, err
	}
	if tr.Transport != transport.Docker {
		return oci.Reference{}, fmt.Errorf("%q: only docker:// images can be mirrored", s)
	}
	return tr.Image, nil
}

// Registries returns every registry host the config names, sources and
// destinations, deduplicated, for a server to check against the hosts it
// lets callers reach. Call it after Validate; names that do not parse are
// left out (Validate refuses them).
func (c *Config) Registries() []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	add(c.Destination.Registry)
	for _, s := range c.Sources {
		add(s.Destination.Registry)
		if r, err := parseRepository(s.Repository); s.Repository != "" && err == nil {
			add(r.Registry)
		}
		for _, im := range s.Images {
			if r, err := parseImage(im); err == nil {
				add(r.Registry)
			}
		}
	}
	return out
}
