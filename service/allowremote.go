package service

import (
	"context"
	"fmt"
	"path"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/transport"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// RemoteAllowlist restricts the registries the service will talk to on a
// caller's behalf. The service fetches from and pushes to whatever registry
// a request names, so without a list any caller can make it probe internal
// hosts; with one, a request naming another registry is refused with
// PermissionDenied before the engine opens a connection.
type RemoteAllowlist struct {
	patterns []string
}

// NewRemoteAllowlist returns the allowlist of patterns: path.Match globs over
// a reference's registry host[:port] ("registry.example.com",
// "*.example.com", "127.0.0.1:5000"), compared case-insensitively. Short
// names mean docker.io, so allow "docker.io" for Docker Hub.
func NewRemoteAllowlist(patterns []string) (*RemoteAllowlist, error) {
	l := &RemoteAllowlist{}
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
				if !l.allows(host) {
					return newStatus(codes.PermissionDenied, codeDenied, "registry "+host+" is not in this server's --allow-remote list")
				}
			}
		}
	}
	for _, s := range refs {
		r, err := transport.ParseRef(s)
		if err != nil || r.Transport != transport.Docker {
			continue
		}
		if !l.allows(r.Image.Registry) {
			return newStatus(codes.PermissionDenied, codeDenied, "registry "+r.Image.Registry+" is not in this server's --allow-remote list")
		}
	}
	return nil
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
