package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// Result says what Apply did with a plan.
type Result struct {
	// Removed are the plan's actions carried out, in order.
	Removed []Action `json:"removed"`
	// Kept are the plan's actions not carried out, with the reason found at
	// the last moment (pulled meanwhile, moved, tagged, gone already).
	Kept []Action `json:"kept,omitempty"`
}

// Apply carries out plan's actions in order. Each is checked again first,
// with pull recording held still (see PullLog): a tag pulled within the
// grace or moved to another manifest since the plan stays, as does an
// untagged manifest that was tagged or pulled meanwhile. A failure stops
// the run and is returned with what was done so far.
func Apply(ctx context.Context, b served.Backend, plan *Plan, opts Options) (*Result, error) {
	opts.defaults()
	res := &Result{Removed: []Action{}}
	var (
		repoName string
		repo     served.Repository
		tagged   map[digest.Digest]bool // digests tags of repo name now, for untagged removals
	)
	defer func() {
		if repo != nil {
			repo.Close()
		}
	}()
	for _, a := range plan.Actions {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if a.Repository != repoName {
			if repo != nil {
				repo.Close()
				repo = nil
			}
			repoName, tagged = a.Repository, nil
			r, err := b.Repo(ctx, a.Repository)
			if errors.Is(err, errdef.ErrNotFound) {
				r = nil
			} else if err != nil {
				return res, err
			}
			repo = r
		}
		if repo == nil {
			res.Kept = append(res.Kept, withReason(a, "repository deleted since the plan"))
			continue
		}
		if a.Tag == "" && tagged == nil {
			infos, err := served.PushTimes(ctx, repo)
			if err != nil {
				return res, err
			}
			tagged = map[digest.Digest]bool{}
			for _, info := range infos {
				tagged[info.Desc.Digest] = true
			}
		}
		kept, err := apply(ctx, b, repo, a, tagged, &opts)
		if err != nil {
			return res, fmt.Errorf("retention: %s: %w", describe(a), err)
		}
		if kept != "" {
			res.Kept = append(res.Kept, withReason(a, kept))
			continue
		}
		res.Removed = append(res.Removed, a)
		if opts.Pulls != nil {
			refs := []string{a.Digest.String()}
			if a.Tag != "" {
				refs = []string{a.Tag}
			}
			opts.Pulls.Forget(a.Repository, refs...)
		}
	}
	return res, nil
}

// apply carries out one action, returning why it stays instead ("" when
// it was carried out).
func apply(ctx context.Context, b served.Backend, repo served.Repository, a Action, tagged map[digest.Digest]bool, opts *Options) (string, error) {
	refs := []string{a.Digest.String()}
	if a.Tag != "" {
		refs = append(refs, a.Tag)
	}
	var kept string
	do := func(last time.Time) error {
		if !last.IsZero() && opts.Now.Sub(last) < opts.PullGrace {
			kept = "pulled " + stamp(last) + ", within the pull grace"
			return nil
		}
		if a.Tag == "" {
			if tagged[a.Digest] {
				kept = "tagged since the plan"
				return nil
			}
			err := served.DeleteManifest(ctx, b, a.Repository, repo, a.Digest)
			if errors.Is(err, errdef.ErrNotFound) {
				kept = "gone already"
				return nil
			}
			return err
		}
		cur, err := repo.Resolve(ctx, a.Tag)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			kept = "gone already"
			return nil
		case err != nil:
			return err
		case cur.Digest != a.Digest:
			kept = "moved to " + cur.Digest.String() + " since the plan"
			return nil
		}
		if err := repo.Untag(ctx, a.Tag); err != nil && !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
		return nil
	}
	var err error
	if opts.Pulls != nil {
		err = opts.Pulls.locked(a.Repository, refs, do)
	} else {
		err = do(time.Time{})
	}
	return kept, err
}

func withReason(a Action, why string) Action {
	a.Reason = why
	return a
}

func describe(a Action) string {
	if a.Tag != "" {
		return a.Repository + ":" + a.Tag
	}
	return a.Repository + "@" + a.Digest.String()
}
