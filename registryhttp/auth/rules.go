package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/glob"
)

// Special user names in a rule.
const (
	// AnyUser matches every authenticated user.
	AnyUser = "*"
	// Anonymous matches requests without credentials.
	Anonymous = "anonymous"
)

// Rule grants actions on the repositories matching a pattern to users.
type Rule struct {
	// Repository is a glob over repository names: '*' matches within one
	// path component, "**" any number of whole components ("team/**",
	// "**"), '?' and [...] as in path.Match.
	Repository string `yaml:"repository" json:"repository"`
	// Users are user names, AnyUser, or Anonymous.
	Users []string `yaml:"users" json:"users"`
	// Actions are pull, push, delete, or "*" for all three.
	Actions []string `yaml:"actions" json:"actions"`
}

// Rules are the per-repository rules of a rules file. A request is allowed
// an action when any rule matching its repository and user grants it: rules
// add up, none takes away, so their order does not matter.
type Rules struct {
	Rules []Rule `yaml:"rules" json:"rules"`
}

// ParseRules reads a rules file, YAML or JSON (YAML being a superset):
//
//	rules:
//	  - repository: "team/**"
//	    users: [alice, bob]
//	    actions: [pull, push]
//	  - repository: "public/*"
//	    users: [anonymous]
//	    actions: [pull]
//
// Unknown fields, unknown actions, bad patterns and rules granting anonymous
// anything but pull are errors: a typo must fail the start, not open or shut
// a repository silently.
func ParseRules(r io.Reader) (*Rules, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var rs Rules
	if err := dec.Decode(&rs); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("rules: %v: %w", err, errdef.ErrInvalid)
	}
	for i, rule := range rs.Rules {
		if err := rule.check(); err != nil {
			return nil, fmt.Errorf("rules: rule %d (%q): %v: %w", i+1, rule.Repository, err, errdef.ErrInvalid)
		}
		if slices.Contains(rule.Actions, "*") {
			rs.Rules[i].Actions = allActions
		}
	}
	return &rs, nil
}

func (r Rule) check() error {
	if r.Repository == "" {
		return errors.New("repository pattern is empty")
	}
	if err := glob.Check(r.Repository); err != nil {
		return fmt.Errorf("bad pattern: %v", err)
	}
	if len(r.Users) == 0 || len(r.Actions) == 0 {
		return errors.New("needs users and actions")
	}
	for _, a := range r.Actions {
		if a != "*" && !slices.Contains(allActions, a) {
			return fmt.Errorf("unknown action %q (want pull, push, delete or *)", a)
		}
	}
	if slices.Contains(r.Users, Anonymous) && slices.ContainsFunc(r.Actions, func(a string) bool { return a != ActionPull }) {
		return errors.New("anonymous may only be granted pull")
	}
	return nil
}

// allowed returns the actions user ("" for anonymous) may take on repo.
func (rs *Rules) allowed(user, repo string) []string {
	var out []string
	for _, r := range rs.Rules {
		if !r.matchesUser(user) || !matchRepo(r.Repository, repo) {
			continue
		}
		for _, a := range r.Actions {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

func (r Rule) matchesUser(user string) bool {
	if user == "" {
		return slices.Contains(r.Users, Anonymous)
	}
	return slices.Contains(r.Users, AnyUser) || slices.Contains(r.Users, user)
}

// matchRepo matches a repository name against a rule's pattern with
// glob.Match, the matcher the trust policy uses too.
func matchRepo(pattern, name string) bool { return glob.Match(pattern, name) }
