package auth

import (
	"slices"
	"strings"
)

// Actions on a repository, as token scopes name them.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
)

// allActions is what "*" stands for in a repository scope.
var allActions = []string{ActionPull, ActionPush, ActionDelete}

// Access is one entry of a token's "access" claim: the actions granted on
// one resource ("repository" NAME, or "registry" "catalog").
//
// Token scope: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/scope.md
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// String formats a in scope syntax, TYPE:NAME:ACTION[,ACTION...].
func (a Access) String() string {
	return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}

// allows reports whether a covers action on (typ, name); "*" covers every action.
func (a Access) allows(typ, name, action string) bool {
	return a.Type == typ && a.Name == name && (slices.Contains(a.Actions, action) || slices.Contains(a.Actions, "*"))
}

// ParseScopes parses scope values, each holding one or more space-separated
// scopes (the OAuth2 form joins them with spaces, the GET form repeats the
// parameter). A malformed scope is skipped: the token endpoint grants what it
// can understand, which is what clients expect from distribution.
//
// Scope grammar: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/scope.md#resource-scope-grammar
func ParseScopes(values []string) []Access {
	var out []Access
	for _, v := range values {
		for _, s := range strings.Fields(v) {
			// The name may hold ':' (a registry host with a port), so the
			// type ends at the first ':' and the actions start after the last.
			typ, rest, ok1 := strings.Cut(s, ":")
			i := strings.LastIndexByte(rest, ':')
			if !ok1 || i <= 0 || typ == "" {
				continue
			}
			name, actions := rest[:i], rest[i+1:]
			// "repository(plugin)" carries a resource class that does not
			// change what is granted.
			if j := strings.IndexByte(typ, '('); j > 0 && strings.HasSuffix(typ, ")") {
				typ = typ[:j]
			}
			a := Access{Type: typ, Name: name}
			for _, act := range strings.Split(actions, ",") {
				if act != "" && !slices.Contains(a.Actions, act) {
					a.Actions = append(a.Actions, act)
				}
			}
			if len(a.Actions) > 0 {
				out = append(out, a)
			}
		}
	}
	return out
}

// intersect keeps the actions of want that allowed grants; "*" in want
// stands for every action allowed grants.
func intersect(want, allowed []string) []string {
	var out []string
	add := func(a string) {
		if slices.Contains(allowed, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, w := range want {
		if w == "*" {
			for _, a := range allActions {
				add(a)
			}
			continue
		}
		add(w)
	}
	return out
}
