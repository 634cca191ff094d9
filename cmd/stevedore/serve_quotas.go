package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine/served"
)

// quotaConfig is one entry of the config file's quotas: section.
type quotaConfig struct {
	Name            string   `yaml:"name"`
	Repositories    string   `yaml:"repositories"`
	MaxBytes        byteSize `yaml:"maxBytes"`
	MaxRepositories int      `yaml:"maxRepositories"`
}

// decodeQuotas reads the quotas: section, a list of served.Quota:
//
//	quotas:
//	  - name: team-a                # in refusals and metrics (default: the pattern)
//	    repositories: "team-a/**"   # engine/glob pattern
//	    maxBytes: 50GiB             # bytes the matching repositories hold together
//	    maxRepositories: 100        # how many may exist
func decodeQuotas(o *serveOptions, n *yaml.Node) error {
	var cfg []quotaConfig
	if err := decodeStrict(n, &cfg); err != nil {
		return err
	}
	o.quotas = nil
	for i, c := range cfg {
		q := served.Quota{Name: c.Name, Repositories: c.Repositories, MaxBytes: int64(c.MaxBytes), MaxRepositories: c.MaxRepositories}
		if err := q.Check(); err != nil {
			return nodeError(n.Content[i], "[%d]: %v", i, err)
		}
		o.quotas = append(o.quotas, q)
	}
	return nil
}

// byteSize is a size in a config file: a number of bytes, or a number with
// a unit, decimal (kB, MB, GB, TB) or binary (KiB, MiB, GiB, TiB); "K", "M",
// "G", "T" alone are binary, as du and Kubernetes' Ki... read them.
type byteSize int64

// UnmarshalYAML parses the size.
func (s *byteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseByteSize(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return nodeError(n, "size %q: want bytes, or a number with a unit such as 500MB or 10GiB", n.Value)
	}
	*s = byteSize(v)
	return nil
}

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
}

func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || f*mult > math.MaxInt64 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(f * mult), nil
}
