package mirror

import (
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Apply returns the tags f keeps, in the order they are to be mirrored:
// newest first when Newest ranks them, otherwise sorted lexically so that
// reports are stable whatever order the registry lists them in. f must
// have passed Validate.
func (f TagFilter) Apply(tags []string) []string {
	allow := compileAll(f.Allow)
	deny := compileAll(f.Deny)
	var constraint *semver.Constraints
	if f.Semver != "" {
		constraint, _ = semver.NewConstraint(f.Semver) // checked by Validate
	}
	bySemver := f.Newest > 0 && f.Order != OrderLexical
	versions := map[string]*semver.Version{}
	var out []string
	for _, t := range tags {
		if len(allow) > 0 && !matchAny(allow, t) || matchAny(deny, t) {
			continue
		}
		if constraint != nil || bySemver {
			v, err := semver.NewVersion(t)
			if err != nil {
				continue
			}
			if constraint != nil && !constraint.Check(v) {
				continue
			}
			versions[t] = v
		}
		out = append(out, t)
	}
	out = slices.Compact(sortedCopy(out))
	if f.Newest <= 0 {
		return out
	}
	if bySemver {
		// Stable, so that equal versions ("1.2" and "v1.2.0") keep lexical order.
		sort.SliceStable(out, func(i, j int) bool { return versions[out[i]].GreaterThan(versions[out[j]]) })
	} else {
		slices.Reverse(out)
	}
	if len(out) > f.Newest {
		out = out[:f.Newest]
	}
	return out
}

func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	slices.SortFunc(out, strings.Compare)
	return out
}

func compileAll(res []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(res))
	for _, s := range res {
		if re, err := regexp.Compile(s); err == nil { // checked by Validate
			out = append(out, re)
		}
	}
	return out
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
