// Package retention keeps the served store bounded by its operator's
// policies: per repository glob, which tags stay (the N most recently
// pushed, those matching a pattern or a semver range, those pulled or
// pushed lately) and whether untagged manifests go. Evaluate computes the
// exact list of removals (the dry run); Apply carries a list out, checking
// each removal again at the moment it happens, so that a tag moved or
// pulled since the list was made stays. The bytes are freed by the
// collector (served.Collector) that runs after.
package retention

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/glob"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// Policy decides what stays in the repositories it covers. A tag stays when
// at least one keep rule holds for it; every other tag is removed. A
// policy without tag rules leaves tags alone. Whatever the rules, a tag
// pulled within Options.PullGrace stays, and tags of the referrers tag
// schema (sha256-<hex>[.sig|.att|...]) go only with the manifest they
// name.
type Policy struct {
	// Repositories is the engine/glob pattern of the repositories covered;
	// a repository is governed by the first policy that covers it.
	Repositories string `json:"repositories"`
	// KeepLast keeps the N most recently pushed tags.
	KeepLast int `json:"keepLast,omitempty"`
	// KeepTags keeps tags matching one of these regular expressions (Go RE2,
	// unanchored: write ^…$ for whole tags).
	KeepTags []string `json:"keepTags,omitempty"`
	// KeepSemver keeps tags that are semantic versions ("v" prefix and
	// missing minor or patch accepted) in this range, e.g. ">= 1.2, < 2".
	KeepSemver string `json:"keepSemver,omitempty"`
	// KeepPulledWithin keeps tags pulled that recently (a tag never pulled
	// counts as pulled when it was pushed, or when pull recording began,
	// whichever is later): tags not pulled within D go.
	KeepPulledWithin time.Duration `json:"keepPulledWithin,omitempty"`
	// KeepPushedWithin keeps tags pushed that recently: tags pushed before
	// D go.
	KeepPushedWithin time.Duration `json:"keepPushedWithin,omitempty"`
	// RemoveUntagged removes untagged manifests (pushed by digest) that no
	// kept manifest reaches: neither members of a kept index nor referrers
	// (signatures, SBOMs) of a kept manifest, directly or through others.
	RemoveUntagged bool `json:"removeUntagged,omitempty"`

	keepTags []*regexp.Regexp
	semver   *semver.Constraints
}

// Compile checks p and prepares its patterns; Evaluate calls it.
func (p *Policy) Compile() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("retention policy %s: %s: %w", p.Repositories, fmt.Sprintf(format, args...), errdef.ErrInvalid)
	}
	if err := glob.Check(p.Repositories); err != nil {
		return bad("repositories: %v", err)
	}
	if p.KeepLast < 0 || p.KeepPulledWithin < 0 || p.KeepPushedWithin < 0 {
		return bad("keepLast, keepPulledWithin and keepPushedWithin must not be negative")
	}
	if !p.hasTagRules() && !p.RemoveUntagged {
		return bad("no rule: give keep rules for tags, removeUntagged, or both")
	}
	p.keepTags = nil
	for _, re := range p.KeepTags {
		c, err := regexp.Compile(re)
		if err != nil {
			return bad("keepTags %q: %v", re, err)
		}
		p.keepTags = append(p.keepTags, c)
	}
	p.semver = nil
	if p.KeepSemver != "" {
		c, err := semver.NewConstraint(p.KeepSemver)
		if err != nil {
			return bad("keepSemver %q: %v", p.KeepSemver, err)
		}
		p.semver = c
	}
	return nil
}

func (p *Policy) hasTagRules() bool {
	return p.KeepLast > 0 || len(p.KeepTags) > 0 || p.KeepSemver != "" || p.KeepPulledWithin > 0 || p.KeepPushedWithin > 0
}

// DefaultPullGrace is Options.PullGrace's default.
const DefaultPullGrace = 15 * time.Minute

// Options configure Evaluate and Apply.
type Options struct {
	// Policies, in order; the first covering a repository governs it.
	Policies []Policy
	// PullGrace keeps anything pulled (by tag or digest) that recently,
	// whatever the policies say: a client pulling an image fetches its
	// blobs after its manifest, for minutes with a large one. <= 0 means
	// DefaultPullGrace.
	PullGrace time.Duration
	// Pulls is where pulls are recorded; nil means none are (a tag then
	// counts as pulled when it was pushed).
	Pulls *PullLog
	// Now is the time ages are measured from; zero means time.Now().
	Now time.Time
}

func (o *Options) defaults() {
	if o.PullGrace <= 0 {
		o.PullGrace = DefaultPullGrace
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
}

// Action is one removal: a tag (Tag set; its manifest stays while anything
// else names it) or an untagged manifest (Tag empty).
type Action struct {
	Repository string        `json:"repository"`
	Tag        string        `json:"tag,omitempty"`
	Digest     digest.Digest `json:"digest"`
	// Reason says why it goes (or, in Result.Kept, why it stayed).
	Reason string `json:"reason"`
}

// Skip is a repository left alone, and why.
type Skip struct {
	Repository string `json:"repository"`
	Error      string `json:"error"`
}

// Plan is what a run removes, in order: per repository (lexically), tags
// first, then untagged manifests.
type Plan struct {
	Actions []Action `json:"actions"`
	// Repositories counts the repositories a policy covers.
	Repositories int `json:"repositories"`
	// TagsKept counts the tags of those repositories that stay.
	TagsKept int    `json:"tagsKept"`
	Skipped  []Skip `json:"skipped,omitempty"`
}

// attachedTag matches the referrers tag schema: <alg>-<hex>, optionally
// with a suffix (cosign's .sig, .att, .sbom), naming the subject <alg>:<hex>.
//
// distribution-spec v1.1.1 §Referrers Tag Schema:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema
var attachedTag = regexp.MustCompile(`^(sha256|sha512)-([0-9a-f]{64}|[0-9a-f]{128})(\..+)?$`)

// attachedSubject returns the manifest a referrers-schema tag names.
func attachedSubject(tag string) (digest.Digest, bool) {
	m := attachedTag.FindStringSubmatch(tag)
	if m == nil {
		return "", false
	}
	return digest.Digest(m[1] + ":" + m[2]), true
}

// Evaluate computes what the policies remove from b now, removing nothing.
// A repository whose tags cannot be read is skipped (reported) and left as
// it is.
func Evaluate(ctx context.Context, b served.Backend, opts Options) (*Plan, error) {
	opts.defaults()
	for i := range opts.Policies {
		if err := opts.Policies[i].Compile(); err != nil {
			return nil, err
		}
	}
	names, err := b.Repositories(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	plan := &Plan{Actions: []Action{}}
	for _, name := range names {
		i := slices.IndexFunc(opts.Policies, func(p Policy) bool { return glob.Match(p.Repositories, name) })
		if i < 0 {
			continue
		}
		plan.Repositories++
		e := &evaluator{b: b, name: name, p: &opts.Policies[i], opts: &opts}
		actions, kept, err := e.run(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			plan.Skipped = append(plan.Skipped, Skip{Repository: name, Error: err.Error()})
			continue
		}
		plan.Actions = append(plan.Actions, actions...)
		plan.TagsKept += kept
	}
	return plan, nil
}

// evaluator decides for one repository.
type evaluator struct {
	b    served.Backend
	name string
	p    *Policy
	opts *Options
	repo served.Repository
}

// lastPull returns when any of refs was last pulled (zero: never recorded).
func (e *evaluator) lastPull(refs ...string) time.Time {
	if e.opts.Pulls == nil {
		return time.Time{}
	}
	return e.opts.Pulls.LastPull(e.name, refs...)
}

func (e *evaluator) inFlight(refs ...string) bool {
	last := e.lastPull(refs...)
	return !last.IsZero() && e.opts.Now.Sub(last) < e.opts.PullGrace
}

func (e *evaluator) run(ctx context.Context) (actions []Action, kept int, err error) {
	repo, err := e.b.Repo(ctx, e.name)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, 0, nil // deleted since the listing
	}
	if err != nil {
		return nil, 0, err
	}
	defer repo.Close()
	e.repo = repo
	tags, err := served.PushTimes(ctx, repo)
	if err != nil {
		return nil, 0, err
	}

	// Ordinary tags, newest push first; referrers-schema tags aside.
	var ordinary, attached []string
	for t := range tags {
		if _, ok := attachedSubject(t); ok {
			attached = append(attached, t)
		} else {
			ordinary = append(ordinary, t)
		}
	}
	sort.Slice(ordinary, func(i, j int) bool {
		ti, tj := tags[ordinary[i]].Pushed, tags[ordinary[j]].Pushed
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return ordinary[i] < ordinary[j]
	})
	sort.Strings(attached)

	keptDigests := map[digest.Digest]bool{}
	removed := map[digest.Digest]bool{}
	for i, t := range ordinary {
		info := tags[t]
		if why := e.removal(i, t, info); why != "" {
			actions = append(actions, Action{Repository: e.name, Tag: t, Digest: info.Desc.Digest, Reason: why})
			removed[info.Desc.Digest] = true
			continue
		}
		kept++
		keptDigests[info.Desc.Digest] = true
	}
	for d := range keptDigests {
		delete(removed, d)
	}

	// What the kept tags reach is needed only to judge the attachments of a
	// removed manifest and untagged manifests, so it is walked only then.
	var closure map[digest.Digest]bool
	reach := func() (map[digest.Digest]bool, error) {
		if closure == nil {
			var err error
			closure, err = e.reachable(ctx, keptDigests)
			return closure, err
		}
		return closure, nil
	}
	attachedKept := map[digest.Digest]bool{}
	for _, t := range attached {
		info := tags[t]
		subject, _ := attachedSubject(t)
		if removed[subject] && !e.inFlight(t, info.Desc.Digest.String()) {
			c, err := reach()
			if err != nil {
				return nil, 0, err
			}
			if !c[subject] {
				actions = append(actions, Action{Repository: e.name, Tag: t, Digest: info.Desc.Digest,
					Reason: fmt.Sprintf("attached to %s, whose tags are removed", subject)})
				continue
			}
		}
		kept++
		attachedKept[info.Desc.Digest] = true
	}

	if e.p.RemoveUntagged {
		roots, err := served.UntaggedRoots(ctx, repo)
		if err != nil {
			return nil, 0, err
		}
		slices.SortFunc(roots, func(a, b oci.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
		c, err := reach()
		if err != nil {
			return nil, 0, err
		}
		more, err := e.reachable(ctx, attachedKept)
		if err != nil {
			return nil, 0, err
		}
		for _, r := range roots {
			if c[r.Digest] || more[r.Digest] || e.inFlight(r.Digest.String()) {
				continue
			}
			actions = append(actions, Action{Repository: e.name, Digest: r.Digest, Reason: "untagged, and no kept image reaches it"})
		}
	}
	return actions, kept, nil
}

// removal says why tag t (the i-th most recently pushed) goes, or "" when a
// rule keeps it.
func (e *evaluator) removal(i int, t string, info served.TagInfo) string {
	if e.inFlight(t, info.Desc.Digest.String()) {
		return ""
	}
	p := e.p
	if !p.hasTagRules() {
		return ""
	}
	pulled := e.lastPull(t, info.Desc.Digest.String())
	baseline := info.Pushed
	if e.opts.Pulls != nil && e.opts.Pulls.Since().After(baseline) {
		baseline = e.opts.Pulls.Since()
	}
	if pulled.Before(baseline) {
		pulled = baseline
	}
	switch {
	case i < p.KeepLast,
		slices.ContainsFunc(p.keepTags, func(re *regexp.Regexp) bool { return re.MatchString(t) }),
		p.semver != nil && inRange(p.semver, t),
		p.KeepPulledWithin > 0 && e.opts.Now.Sub(pulled) < p.KeepPulledWithin,
		p.KeepPushedWithin > 0 && e.opts.Now.Sub(info.Pushed) < p.KeepPushedWithin:
		return ""
	}
	return fmt.Sprintf("no keep rule holds (pushed %s, last pulled %s)", stamp(info.Pushed), stamp(pulled))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func inRange(c *semver.Constraints, tag string) bool {
	v, err := semver.NewVersion(tag)
	return err == nil && c.Check(v)
}

// reachable returns start and everything it reaches in the repository:
// the manifests of an index, and referrers, recursively.
func (e *evaluator) reachable(ctx context.Context, start map[digest.Digest]bool) (map[digest.Digest]bool, error) {
	seen := map[digest.Digest]bool{}
	queue := make([]digest.Digest, 0, len(start))
	for d := range start {
		queue = append(queue, d)
	}
	for len(queue) > 0 {
		d := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[d] {
			continue
		}
		seen[d] = true
		m, err := served.ReadManifest(ctx, e.repo, d.String())
		switch {
		case errors.Is(err, errdef.ErrNotFound):
		case err != nil:
			return nil, err
		case m.IsIndex():
			for _, c := range m.Manifests {
				queue = append(queue, c.Digest)
			}
		}
		refs, err := e.b.Referrers(ctx, e.name, d)
		if err != nil {
			return nil, err
		}
		queue = append(queue, refs...)
	}
	return seen, nil
}
