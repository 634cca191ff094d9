package glob

import (
	"errors"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"**", "a", true},
		{"**", "a/b/c", true},
		{"team/**", "team", true},
		{"team/**", "team/a/b", true},
		{"team/**", "teams/a", false},
		{"team/*", "team/a", true},
		{"team/*", "team/a/b", false},
		{"team/*", "team", false},
		{"*/app", "x/app", true},
		{"*/app", "x/y/app", false},
		{"**/app", "x/y/app", true},
		{"**/app", "app", true},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"a/**/**/b", "a/x/b", true},
		{"docker.io/library/*", "docker.io/library/alpine", true},
		{"127.0.0.1:5000/**", "127.0.0.1:5000/x", true},
		{"a?c", "abc", true},
		{"a[bc]d", "acd", true},
		{"a[", "a[", false}, // malformed: matches nothing
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.name, func(t *testing.T) {
			if got := Match(tt.pattern, tt.name); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, p := range []string{"**", "team/**", "a/*/b", "a[bc]", "x?"} {
		if err := Check(p); err != nil {
			t.Errorf("Check(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"", "a[", "ok/[x"} {
		if err := Check(p); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("Check(%q) = %v, want ErrInvalid", p, err)
		}
	}
}

// FuzzMatch checks Match neither panics nor explodes on patterns full of "**".
func FuzzMatch(f *testing.F) {
	f.Add("**/**/a", "x/y/z/a")
	f.Add("a/*", "a/b")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 256 {
			return
		}
		_ = Match(pattern, name)
	})
}
