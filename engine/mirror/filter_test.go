package mirror

import (
	"slices"
	"testing"
)

func TestTagFilterApply(t *testing.T) {
	tags := []string{"latest", "v1.0.0", "v1.2.0", "1.10.0", "v2.0.0-rc1", "v2.0.0", "3.0", "nightly-20240101", "nightly-20240301", "nightly-20240201"}
	for _, tc := range []struct {
		name string
		f    TagFilter
		want []string
	}{
		{"zero keeps all, sorted", TagFilter{}, []string{"1.10.0", "3.0", "latest", "nightly-20240101", "nightly-20240201", "nightly-20240301", "v1.0.0", "v1.2.0", "v2.0.0", "v2.0.0-rc1"}},
		{"allow", TagFilter{Allow: []string{`^v\d`}}, []string{"v1.0.0", "v1.2.0", "v2.0.0", "v2.0.0-rc1"}},
		{"allow several", TagFilter{Allow: []string{`^latest$`, `^3`}}, []string{"3.0", "latest"}},
		{"deny", TagFilter{Deny: []string{`-rc`, `^nightly`, `latest`}}, []string{"1.10.0", "3.0", "v1.0.0", "v1.2.0", "v2.0.0"}},
		{"allow then deny", TagFilter{Allow: []string{`^v`}, Deny: []string{`rc`}}, []string{"v1.0.0", "v1.2.0", "v2.0.0"}},
		{"semver range", TagFilter{Semver: ">= 1.2, < 3"}, []string{"1.10.0", "v1.2.0", "v2.0.0"}},
		{"semver range with prerelease", TagFilter{Semver: ">= 2.0.0-0"}, []string{"3.0", "v2.0.0", "v2.0.0-rc1"}},
		{"newest semver", TagFilter{Newest: 2}, []string{"3.0", "v2.0.0"}},
		{"newest semver orders numerically", TagFilter{Semver: "< 2", Newest: 2, Order: OrderSemver}, []string{"1.10.0", "v1.2.0"}},
		{"newest lexical", TagFilter{Allow: []string{`^nightly-`}, Newest: 2, Order: OrderLexical}, []string{"nightly-20240301", "nightly-20240201"}},
		{"newest more than there are", TagFilter{Allow: []string{`^v1`}, Newest: 10}, []string{"v1.2.0", "v1.0.0"}},
		{"nothing matches", TagFilter{Allow: []string{`^x`}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Apply(tags); !slices.Equal(got, tc.want) {
				t.Errorf("Apply = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDestinationMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		top  Destination
		src  Destination
		repo string
		want string
	}{
		{"as is", Destination{Registry: "r.example:5000"}, Destination{}, "library/alpine", "r.example:5000/library/alpine"},
		{"prefix", Destination{Registry: "r.example", Prefix: "mirror"}, Destination{}, "org/app", "r.example/mirror/org/app"},
		{"strip", Destination{Registry: "r.example", StripPrefix: "library"}, Destination{}, "library/alpine", "r.example/alpine"},
		{"strip and prefix", Destination{Registry: "r.example", Prefix: "hub", StripPrefix: "library"}, Destination{}, "library/alpine", "r.example/hub/alpine"},
		{"strip whole components only", Destination{Registry: "r.example", StripPrefix: "lib"}, Destination{}, "library/alpine", "r.example/library/alpine"},
		{"strip not matching keeps", Destination{Registry: "r.example", StripPrefix: "other"}, Destination{}, "org/app", "r.example/org/app"},
		{"source overrides prefix", Destination{Registry: "r.example", Prefix: "a"}, Destination{Prefix: "b"}, "org/app", "r.example/b/org/app"},
		{"source overrides registry", Destination{Registry: "r.example", Prefix: "a"}, Destination{Registry: "s.example"}, "app", "s.example/a/app"},
		{"source names repository", Destination{Registry: "r.example", Prefix: "a", StripPrefix: "org"}, Destination{Repository: "exact/name"}, "org/app", "r.example/exact/name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := merged(tc.top, tc.src).Map(tc.repo)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name() != tc.want {
				t.Errorf("Map(%q) = %s, want %s", tc.repo, got.Name(), tc.want)
			}
		})
	}
}
