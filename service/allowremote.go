package service

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/transport"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// RemoteAllowlist restricts what the service will touch on a caller's
// behalf. The service fetches from and pushes to whatever registry a request
// names, and reads and writes whatever oci:/archive path it names, so
// without a list any caller can make it probe internal hosts or write
// anywhere the server may; with one, a request naming another registry or a
// path outside the allowed directories is refused with PermissionDenied
// before the engine opens anything.
type RemoteAllowlist struct {
	patterns []string
	remote   bool     // registries are restricted to patterns
	roots    []string // when set, local paths must lie under one of these
}

// NewRemoteAllowlist returns the allowlist of patterns: path.Match globs over
// a reference's registry host[:port] ("registry.example.com",
// "*.example.com", "127.0.0.1:5000"), compared case-insensitively. Short
// names mean docker.io, so allow "docker.io" for Docker Hub.
func NewRemoteAllowlist(patterns []string) (*RemoteAllowlist, error) {
	return NewAllowlist(patterns, nil)
}

// NewAllowlist returns an allowlist of registry patterns (none: registries
// are not restricted) and local directories (none: paths are not
// restricted) under which oci: and archive references must lie. Symlinks are
// resolved before the check, so a link inside a root cannot lead out of it.
func NewAllowlist(patterns, localRoots []string) (*RemoteAllowlist, error) {
	l := &RemoteAllowlist{remote: len(patterns) > 0}
	for _, r := range localRoots {
		abs, err := resolvePath(r)
		if err != nil || r == "" {
			return nil, fmt.Errorf("local root %q: %v", r, err)
		}
		l.roots = append(l.roots, abs)
	}
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return nil, fmt.Errorf("remote registry pattern %q: bad pattern", p)
		}
		l.patterns = append(l.patterns, p)
	}
	return l, nil
}

// allows reports whether the registry host may be contacted.
func (l *RemoteAllowlist) allows(host string) bool {
	host = strings.ToLower(host)
	for _, p := range l.patterns {
		if ok, _ := path.Match(p, host); ok {
			return true
		}
	}
	return false
}

// Request fields naming images, checked through the getters every
// generated message has, so a new RPC with a ref field is covered without
// touching this file.
type (
	refField        interface{ GetRef() string }
	repositoryField interface{ GetRepository() string }
	sourceField     interface{ GetSource() string }
	destField       interface{ GetDestination() string }
	otherRefField   interface{ GetOtherRef() string }
	oldBaseField    interface{ GetOldBase() string }
	newBaseField    interface{ GetNewBase() string }
	membersField    interface{ GetMembers() []string }
)

// check refuses a request naming a registry outside the list. References to
// local layouts and archives name no registry and pass; a reference that
// does not parse passes too, for the handler to reject with its own error.
func (l *RemoteAllowlist) check(req any) error {
	var refs []string
	if m, ok := req.(refField); ok {
		refs = append(refs, m.GetRef())
	}
	if m, ok := req.(repositoryField); ok {
		refs = append(refs, m.GetRepository())
	}
	if m, ok := req.(sourceField); ok {
		refs = append(refs, m.GetSource())
	}
	if m, ok := req.(destField); ok {
		refs = append(refs, m.GetDestination())
	}
	if m, ok := req.(otherRefField); ok {
		refs = append(refs, m.GetOtherRef())
	}
	if m, ok := req.(oldBaseField); ok {
		refs = append(refs, m.GetOldBase())
	}
	if m, ok := req.(newBaseField); ok {
		refs = append(refs, m.GetNewBase())
	}
	if m, ok := req.(membersField); ok {
		refs = append(refs, m.GetMembers()...)
	}
	if m, ok := req.(*stevedorev1.MirrorRequest); ok {
		// A mirror names its registries inside its config; a config that does
		// not parse is left for the handler to reject.
		if cfg, err := mirror.ParseConfig([]byte(m.GetConfig())); err == nil {
			for _, host := range cfg.Registries() {
				if l.remote && !l.allows(host) {
					return newStatus(codes.PermissionDenied, codeDenied, "registry "+host+" is not in this server's --allow-remote list")
				}
			}
		}
	}
	for _, s := range refs {
		r, err := transport.ParseRef(s)
		switch {
		case err != nil:
		case r.Transport == transport.Docker:
			if l.remote && !l.allows(r.Image.Registry) {
				return newStatus(codes.PermissionDenied, codeDenied, "registry "+r.Image.Registry+" is not in this server's --allow-remote list")
			}
		case len(l.roots) > 0 && !l.inRoots(r.Path):
			return newStatus(codes.PermissionDenied, codeDenied, "path "+r.Path+" is outside this server's --allow-local directories")
		}
	}
	return nil
}

// inRoots reports whether p, with symlinks resolved, lies under a root.
func (l *RemoteAllowlist) inRoots(p string) bool {
	abs, err := resolvePath(p)
	if err != nil {
		return false
	}
	for _, root := range l.roots {
		if rel, err := filepath.Rel(root, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
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

// ServerOptions returns the interceptors enforcing the list, for
// NewGRPCServer. Streaming RPCs are checked as their request arrives.
func (l *RemoteAllowlist) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if err := l.check(req); err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			return handler(srv, &checkedStream{ServerStream: ss, l: l})
		}),
	}
}

// checkedStream checks each message the client sends.
type checkedStream struct {
	grpc.ServerStream
	l *RemoteAllowlist
}

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.l.check(m)
}
