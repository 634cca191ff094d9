package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// LocalPolicy confines the oci: and archive paths an engine acting for
// remote callers opens. A path is placed lexically (never by looking at the
// file system, so a refusal does not tell whether the path exists) and then
// opened beneath its root through an os.Root, so no symlink inside the root
// — one planted there, or swapped in after the check — leads out of it.
type LocalPolicy struct {
	// Roots are the directories paths must lie in (absolute, symlinks
	// resolved: NewLocalPolicy makes them so). A relative path is taken
	// relative to the first.
	Roots []string
	// Any lets paths lie anywhere (but under Deny), opened as given:
	// `serve --allow-local any`, for a trusted network only.
	Any bool
	// Deny are directories no path may reach whatever Any says, but for
	// the Roots inside them: the served data directory, whose repositories
	// are reached as store: refs with their access rules, never as layouts
	// behind them — its layouts/ subdirectory being the API's default root.
	Deny []string
}

// NewLocalPolicy returns the policy confining paths to roots (created when
// missing), or allowing any path when any is set, and never reaching deny.
func NewLocalPolicy(roots []string, any bool, deny []string) (*LocalPolicy, error) {
	p := &LocalPolicy{Any: any}
	for _, r := range roots {
		if r == "" {
			return nil, fmt.Errorf("local root: empty path: %w", errdef.ErrInvalid)
		}
		if err := os.MkdirAll(r, 0o755); err != nil {
			return nil, fmt.Errorf("local root %s: %w", r, err)
		}
		abs, err := resolvePath(r)
		if err != nil {
			return nil, fmt.Errorf("local root %s: %w", r, err)
		}
		p.Roots = append(p.Roots, abs)
	}
	for _, d := range deny {
		abs, err := resolvePath(d)
		if err != nil {
			return nil, fmt.Errorf("denied path %s: %w", d, err)
		}
		p.Deny = append(p.Deny, abs)
		for _, r := range p.Roots {
			if within(r, abs) {
				return nil, fmt.Errorf("local root %s holds %s, which the API never reaches as a path: %w", r, d, errdef.ErrInvalid)
			}
		}
	}
	return p, nil
}

// locate places p: root is the directory to open it beneath and rel its
// name there; root "" means p is opened as given (no policy, or Any).
func (e *Engine) locate(p string) (root, rel string, err error) {
	lp := e.opts.Local
	if lp == nil {
		return "", p, nil
	}
	refused := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("path %s %s: %w", p, why, errdef.ErrDenied)
	}
	abs := p
	if !filepath.IsAbs(abs) {
		base := "."
		if len(lp.Roots) > 0 {
			base = lp.Roots[0]
		}
		abs = filepath.Join(base, abs)
	}
	abs, err = filepath.Abs(abs)
	if err != nil {
		return refused("cannot be made absolute")
	}
	real, err := resolvePath(abs)
	if err != nil {
		return refused("cannot be resolved")
	}
	for _, d := range lp.Deny {
		if (within(d, abs) || within(d, real)) && !lp.carvedOut(d, abs, real) {
			return refused("is inside the served data directory; name its repositories as store:REPO")
		}
	}
	if lp.Any {
		return "", abs, nil
	}
	for _, r := range lp.Roots {
		if within(r, abs) {
			rel, _ := filepath.Rel(r, abs)
			return r, rel, nil
		}
	}
	return refused("is outside the directories this server lets the API use (" + strings.Join(lp.Roots, ", ") + "; serve --allow-local)")
}

// carvedOut reports whether a path inside the denied directory d lies in a
// root that is itself inside d (the data directory's layouts/).
func (lp *LocalPolicy) carvedOut(d, abs, real string) bool {
	for _, r := range lp.Roots {
		if within(d, r) && within(r, abs) && within(r, real) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or lies under it, lexically.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolvePath makes p absolute and resolves the symlinks of its longest
// existing prefix (what does not exist yet cannot be a link).
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest), nil
		}
		if dir == filepath.Dir(dir) {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// openLayout opens (or, with create, creates) the OCI layout at p.
func (e *Engine) openLayout(p string, create bool) (*store.FS, error) {
	root, rel, err := e.locate(p)
	if err != nil {
		return nil, err
	}
	if root == "" {
		if create {
			return store.CreateFS(rel)
		}
		return store.OpenFS(rel)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if create {
		return store.CreateFSIn(r, rel, p)
	}
	return store.OpenFSIn(r, rel, p)
}

// openFile opens the file at p for reading.
func (e *Engine) openFile(p string) (*os.File, error) {
	root, rel, err := e.locate(p)
	if err != nil {
		return nil, err
	}
	var f *os.File
	if root == "" {
		f, err = os.Open(rel)
	} else {
		var r *os.Root
		if r, err = os.OpenRoot(root); err != nil {
			return nil, err
		}
		defer r.Close()
		f, err = r.Open(rel)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("archive %s: %w", p, errdef.ErrNotFound)
	}
	return f, err
}

// createIn returns the directory a new file at p is written in, open as an
// os.Root the caller owns, and p's name inside it.
func (e *Engine) createIn(p string) (*os.Root, string, error) {
	root, rel, err := e.locate(p)
	if err != nil {
		return nil, "", err
	}
	if root == "" {
		dir := filepath.Dir(rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, "", err
		}
		r, err := os.OpenRoot(dir)
		return r, filepath.Base(rel), err
	}
	r, err := os.OpenRoot(root)
	return r, filepath.ToSlash(rel), err
}
