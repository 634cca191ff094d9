package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"golang.org/x/sync/errgroup"
)

// The served store's management: what a registry operator asks of it. Each
// call sees only the repositories the caller may pull, as the catalog of
// the registry port does, and changes only what the caller may delete.

// ListOptions select a page of repositories.
type ListOptions struct {
	// Prefix keeps repositories whose name starts with it.
	Prefix string
	// PageSize is the most returned; <= 0 means 100, at most 1000.
	PageSize int
	// PageToken continues after the page that returned it.
	PageToken string
}

// RepositoryPage is one page of ListRepositories.
type RepositoryPage struct {
	Repositories  []served.RepoSummary `json:"repositories"`
	NextPageToken string               `json:"nextPageToken,omitempty"`
}

// Page size bounds of ListRepositories.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// ListRepositories lists the served repositories the caller may pull, in
// lexical order, a page at a time, with tag counts and stored bytes.
func (e *Engine) ListRepositories(ctx context.Context, opts ListOptions) (*RepositoryPage, error) {
	fail := func(err error) (*RepositoryPage, error) {
		return nil, &Error{Op: "list-repositories", Ref: "store:", Err: err}
	}
	size := opts.PageSize
	switch {
	case size <= 0:
		size = defaultPageSize
	case size > maxPageSize:
		return fail(fmt.Errorf("page size %d is over %d: %w", size, maxPageSize, errdef.ErrInvalid))
	}
	after := ""
	if opts.PageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(opts.PageToken)
		if err != nil {
			return fail(fmt.Errorf("page token %q is not one this server gave: %w", opts.PageToken, errdef.ErrInvalid))
		}
		after = string(b)
	}
	names, err := e.visibleRepositories(ctx, opts.Prefix)
	if err != nil {
		return fail(err)
	}
	start := sort.SearchStrings(names, after)
	if start < len(names) && names[start] == after && after != "" {
		start++
	}
	names, next := names[start:], ""
	if len(names) > size {
		names = names[:size]
		next = base64.RawURLEncoding.EncodeToString([]byte(names[size-1]))
	}
	return e.summarize(ctx, names, next)
}

// summarize counts the tags and bytes of each repository, several at a time
// (each is a directory walk or a listing), keeping their order; one deleted
// since the listing is left out.
func (e *Engine) summarize(ctx context.Context, names []string, next string) (*RepositoryPage, error) {
	sums := make([]served.RepoSummary, len(names))
	found := make([]bool, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, name := range names {
		g.Go(func() error {
			s, err := served.Summarize(gctx, e.opts.Served, name)
			if errors.Is(err, errdef.ErrNotFound) {
				return nil
			}
			sums[i], found[i] = s, err == nil
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, &Error{Op: "list-repositories", Ref: "store:", Err: err}
	}
	page := &RepositoryPage{Repositories: []served.RepoSummary{}, NextPageToken: next}
	for i, ok := range found {
		if ok {
			page.Repositories = append(page.Repositories, sums[i])
		}
	}
	return page, nil
}

// visibleRepositories lists the served repositories under prefix the
// caller may pull, sorted.
func (e *Engine) visibleRepositories(ctx context.Context, prefix string) ([]string, error) {
	if e.opts.Served == nil {
		return nil, fmt.Errorf("no store is served here: %w", errdef.ErrUnsupported)
	}
	all, err := e.opts.Served.Repositories(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range all {
		if strings.HasPrefix(n, prefix) && e.allow(n, ActionPull) == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// DeleteRepository deletes repository name of the served store whole: every
// tag, manifest and record; its blobs go at the next collection.
func (e *Engine) DeleteRepository(ctx context.Context, name string) (served.Deletion, error) {
	fail := func(err error) (served.Deletion, error) {
		return served.Deletion{}, &Error{Op: "delete-repository", Ref: "store:" + name, Err: err}
	}
	if err := e.servedDelete(name); err != nil {
		return fail(err)
	}
	del, err := served.DeleteRepository(ctx, e.opts.Served, name)
	if err != nil {
		return fail(err)
	}
	return del, nil
}

// servedDelete checks that deleting from repository name is allowed: a
// served store, deletes enabled, the caller's delete right.
func (e *Engine) servedDelete(name string) error {
	switch {
	case e.opts.Served == nil:
		return fmt.Errorf("no store is served here: %w", errdef.ErrUnsupported)
	case e.opts.DisableDelete:
		return fmt.Errorf("deletes are disabled on this server (serve --disable-delete): %w", errdef.ErrUnsupported)
	}
	return e.allow(name, ActionDelete)
}

// StorageUsage reports the bytes the served repositories under prefix that
// the caller may pull hold: in all, each, and shared between them.
func (e *Engine) StorageUsage(ctx context.Context, prefix string) (*served.Usage, error) {
	names, err := e.visibleRepositories(ctx, prefix)
	if err == nil {
		var u *served.Usage
		if u, err = served.StorageUsage(ctx, e.opts.Served, names); err == nil {
			return u, nil
		}
	}
	return nil, &Error{Op: "storage-usage", Ref: "store:", Err: err}
}

// RunGC collects garbage in the served store now (see served.Collector).
// It needs the delete right on every repository, since it removes what
// their pushes left unreferenced. opts.Grace <= 0 means the engine's
// GCGrace.
func (e *Engine) RunGC(ctx context.Context, opts served.GCOptions) (served.GCReport, error) {
	fail := func(err error) (served.GCReport, error) {
		return served.GCReport{}, &Error{Op: "gc", Ref: "store:", Err: err}
	}
	if e.opts.Served == nil {
		return fail(fmt.Errorf("no store is served here: %w", errdef.ErrUnsupported))
	}
	if e.access != nil {
		names, err := e.opts.Served.Repositories(ctx)
		if err != nil {
			return fail(err)
		}
		for _, n := range names {
			if err := e.allow(n, ActionDelete); err != nil {
				return fail(fmt.Errorf("collecting garbage needs the delete right on every repository: %w", err))
			}
		}
	}
	if opts.Grace <= 0 {
		opts.Grace = e.opts.GCGrace
	}
	rep, err := e.opts.Served.GC(ctx, opts)
	if err != nil {
		return fail(err)
	}
	return rep, nil
}
