package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// byteSize is a size in bytes, as a flag (--min-free-space 64MiB) or a
// config value (maxBytes: 10GiB): a number of bytes, or a number with a
// unit, binary (KiB, MiB, GiB, TiB; K, M, G, T alone, as du and Kubernetes
// read them) or decimal (kB, MB, GB, TB).
type byteSize int64

// byteUnits are the units, longest suffixes first so "MiB" is not read as
// "B".
var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
}

// parseByteSize reads a size.
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size: a number of bytes, or with a unit (64MiB, 1.5GB)", s)
	}
	return int64(f * float64(mult)), nil
}

// String writes the size in the largest binary unit that divides it.
func (b *byteSize) String() string {
	n := int64(*b)
	for i := 3; i >= 0; i-- { // TiB down to KiB
		if u := byteUnits[i]; n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Set parses a flag's value.
func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// Type names the flag's value in help.
func (b *byteSize) Type() string { return "size" }

// UnmarshalYAML parses a config value.
func (b *byteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || b.Set(n.Value) != nil {
		return nodeError(n, "size %q: want bytes, or a number with a unit such as 500MB or 10GiB", n.Value)
	}
	return nil
}
