package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/netguard"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/archive"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// Options configure an Engine. The zero value is the CLI's: anonymous or
// config-file credentials, TLS for every host but loopback, 4 MiB
// manifests, any registry and any local path, no served store.
type Options struct {
	// Registry configures the registry client (credentials, TLS, retries).
	Registry registry.Options
	// ManifestLimit bounds manifest and config reads; <= 0 means oci.DefaultManifestLimit.
	ManifestLimit int64

	// Served is the registry storage this process serves. store: refs,
	// and docker:// refs whose host is one of ServedHosts, are read and
	// written in it directly, never over HTTP. Nil refuses them.
	Served served.Backend
	// ServedHosts are the host[:port] names clients use for the served
	// registry (its listen address, localhost:PORT, a proxy's name),
	// compared case-insensitively.
	ServedHosts []string
	// DisableDelete refuses every delete in the served store (serve
	// --disable-delete), as the registry port does.
	DisableDelete bool
	// Writable, when set, is asked before every push to a served
	// repository: an error (errdef.ErrDenied) refuses it whoever the
	// caller is, as the registry port refuses pushes under a pull-through
	// cache's prefixes (cache.Cache.Writable).
	Writable func(repo string) error
	// GCGrace is RunGC's grace period when the caller gives none; <= 0
	// means served.DefaultGCGrace.
	GCGrace time.Duration

	// Remote, when set, guards every connection to a registry (see
	// netguard): an engine acting for remote callers must not reach the
	// server's own network or a metadata service. Nil connects anywhere.
	Remote *netguard.Policy
	// Local, when set, confines oci: and archive paths (see LocalPolicy).
	// Nil allows any path: the CLI acts for the user who runs it.
	Local *LocalPolicy
}

// Engine runs stevedore's operations. It holds no open files: every call
// opens what it needs and closes it before returning (streams excepted,
// which the caller closes). Registry connections are pooled and reused
// across calls.
type Engine struct {
	opts   Options
	access Access // nil: everything
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.ManifestLimit <= 0 {
		opts.ManifestLimit = oci.DefaultManifestLimit
	}
	if opts.Registry.Client == nil {
		if opts.Remote != nil {
			opts.Registry.Dial = opts.Remote.Dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, nil)
		}
		opts.Registry.Client = registry.NewClient(opts.Registry)
	}
	return &Engine{opts: opts}
}

// As returns an engine that acts for a caller whose rights on the served
// store's repositories a decides: every read of a repository needs
// ActionPull, every write ActionPush, every delete ActionDelete. It shares
// e's options and connections.
func (e *Engine) As(a Access) *Engine {
	c := *e
	c.access = a
	return &c
}

// ServedHost reports whether host[:port] names the served registry.
func (e *Engine) ServedHost(host string) bool {
	if e.opts.Served == nil {
		return false
	}
	for _, h := range e.opts.ServedHosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// served returns the served repository ref names, when it names one.
func (e *Engine) served(ref transport.Ref) (name string, ok bool, err error) {
	switch {
	case ref.Transport == transport.Store:
		if e.opts.Served == nil {
			return "", false, fmt.Errorf("%s: no store is served here (store: refs work inside stevedore serve, or with --data on the CLI): %w", ref, errdef.ErrUnsupported)
		}
		return ref.Image.Repository, true, nil
	case ref.Transport == transport.Docker && e.ServedHost(ref.Image.Registry):
		return ref.Image.Repository, true, nil
	}
	return "", false, nil
}

// Open returns a Source for the repository, layout or archive ref names,
// for a package that composes its own operations over the engine's
// transports (engine/mirror); the verbs are the API. What it returns may
// hold files open: close it (Close) when it is an io.Closer.
func (e *Engine) Open(ctx context.Context, ref transport.Ref) (transport.Source, error) {
	src, err := e.open(ctx, ref)
	if err != nil {
		return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
	}
	return src, nil
}

func (e *Engine) open(ctx context.Context, ref transport.Ref) (transport.Source, error) {
	if repo, ok, err := e.openRepository(ref, false); ok || err != nil {
		return repo, err
	}
	switch ref.Transport {
	case transport.OCIArchive:
		f, err := e.openFile(ref.Path)
		if err != nil {
			return nil, err
		}
		return archive.OpenOCI(f, ref.Path)
	case transport.DockerArchive:
		path, name := dockerArchiveName(ref)
		f, err := e.openFile(path)
		if err != nil {
			return nil, err
		}
		return archive.OpenDocker(f, path, name)
	}
	return nil, fmt.Errorf("transport %s: %w", ref.Transport, errdef.ErrUnsupported)
}

// repository is what the served store, a registry and a layout each are:
// a source and a target at once.
type repository interface {
	transport.Source
	transport.Target
}

// openRepository opens the served store, a registry or a layout for
// reading or writing (a layout is then created if missing), with the
// caller's rights checked; ok is false for an archive, which the caller
// opens.
func (e *Engine) openRepository(ref transport.Ref, write bool) (repo repository, ok bool, err error) {
	if name, ok, err := e.served(ref); err != nil || ok {
		if err != nil {
			return nil, true, err
		}
		action := ActionPull
		if write {
			action = ActionPush
		}
		if err := e.allow(name, action); err != nil {
			return nil, true, err
		}
		return served.NewRepo(e.opts.Served, name), true, nil
	}
	switch ref.Transport {
	case transport.Docker:
		if err := e.checkRemote(ref); err != nil {
			return nil, true, err
		}
		return registry.New(ref.Image.Registry, ref.Image.Repository, e.opts.Registry), true, nil
	case transport.OCI:
		fs, err := e.openLayout(ref.Path, write)
		if err != nil {
			return nil, true, err
		}
		return layout.New(fs), true, nil
	}
	return nil, false, nil
}

// OpenTarget returns a Target for the repository, layout or archive ref
// names, as Open does a Source. An oci: layout is created if it does not
// exist yet, as skopeo and oras do. An archive target is a
// transport.Committer: nothing is written to its path until Commit, which
// replaces any file there; the caller commits or aborts it. Close what it
// returns when it is an io.Closer.
func (e *Engine) OpenTarget(ctx context.Context, ref transport.Ref) (transport.Target, error) {
	dst, err := e.openTarget(ctx, ref)
	if err != nil {
		return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
	}
	return dst, nil
}

func (e *Engine) openTarget(ctx context.Context, ref transport.Ref) (transport.Target, error) {
	if repo, ok, err := e.openRepository(ref, true); ok || err != nil {
		return repo, err
	}
	switch ref.Transport {
	case transport.OCIArchive:
		dir, name, err := e.createIn(ref.Path)
		if err != nil {
			return nil, err
		}
		return archive.CreateOCI(dir, name)
	case transport.DockerArchive:
		path, image := dockerArchiveName(ref)
		dir, name, err := e.createIn(path)
		if err != nil {
			return nil, err
		}
		return archive.CreateDocker(dir, name, image)
	}
	return nil, fmt.Errorf("writing to transport %s: %w", ref.Transport, errdef.ErrUnsupported)
}

// checkRemote refuses, before any connection, a registry the Remote
// policy's allow list leaves out (the dial guard would refuse it anyway;
// this says so without waiting for a connection).
func (e *Engine) checkRemote(ref transport.Ref) error { return e.CheckRegistry(ref.Image.Registry) }

// CheckRegistry refuses a registry host[:port] the engine may not reach by
// its Remote policy's allow list; the served registry always passes.
func (e *Engine) CheckRegistry(host string) error {
	if e.opts.Remote == nil || e.ServedHost(host) {
		return nil
	}
	return e.opts.Remote.CheckHost(host)
}

// closeT closes a source or target that holds something open.
func closeT(v any) {
	if c, ok := v.(io.Closer); ok {
		_ = c.Close()
	}
}

// dockerArchiveName splits docker-archive:FILE[:NAME[:TAG]] as skopeo does,
// at the first ':' (so FILE cannot hold one): what follows is a docker
// reference, which ParseRef's tag splitting would cut apart.
func dockerArchiveName(ref transport.Ref) (path, name string) {
	full := ref.Path
	if ref.Tag != "" {
		full += ":" + ref.Tag
	}
	path, name, _ = strings.Cut(full, ":")
	return path, name
}
