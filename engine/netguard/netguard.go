// Package netguard decides which network addresses the engine may connect
// to when it acts for a remote caller (the API of `stevedore serve`): a
// request must not turn the server into a probe of its own network or of a
// cloud metadata service. The decision is made where the connection is
// made — on the resolved address, for every dial, redirects and token realms
// included — so neither a DNS name that rebinds nor a redirect gets around
// it.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Policy is what may be reached. The zero value allows public addresses
// only.
type Policy struct {
	// Allow holds host[:port] globs (path.Match, case-insensitive) of the
	// registries callers may name. When set, any other host is refused;
	// either way a host it matches may also resolve to a loopback or
	// private address (a registry on the server's own network the operator
	// vouched for). Link-local, multicast, unspecified and cloud metadata
	// addresses are refused whatever it says.
	Allow []string
	// Vouched holds host[:port] globs of registries the operator named in
	// the server's configuration (a pull-through cache's upstreams): they
	// pass the Allow list and may resolve to loopback or private
	// addresses, without restricting other hosts the way Allow does.
	Vouched []string
}

// metadataV6 is the AWS IPv6 instance metadata endpoint (fd00:ec2::254),
// inside the private range but worth naming: it is refused always.
var metadataV6 = netip.MustParseAddr("fd00:ec2::254")

// Check validates the patterns of p.
func (p Policy) Check() error {
	for _, pat := range append(slices.Clip(p.Allow), p.Vouched...) {
		if _, err := path.Match(strings.ToLower(pat), ""); err != nil || strings.TrimSpace(pat) == "" {
			return fmt.Errorf("registry pattern %q: bad pattern: %w", pat, errdef.ErrInvalid)
		}
	}
	return nil
}

// allowedHost reports whether host (and host:port) matches Allow or
// Vouched.
func (p Policy) allowedHost(host, port string) bool {
	return matchHost(p.Allow, host, port) || matchHost(p.Vouched, host, port)
}

// matchHost reports whether host (and host:port) matches one of pats.
func matchHost(pats []string, host, port string) bool {
	host = strings.ToLower(host)
	for _, pat := range pats {
		pat = strings.ToLower(strings.TrimSpace(pat))
		if ok, _ := path.Match(pat, host); ok {
			return true
		}
		if ok, _ := path.Match(pat, net.JoinHostPort(host, port)); ok {
			return true
		}
	}
	return false
}

// CheckHost refuses a host[:port] the Allow list leaves out, before any
// connection: a request naming one gets a clear answer at once.
func (p Policy) CheckHost(hostport string) error {
	if len(p.Allow) == 0 {
		return nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	host = strings.Trim(host, "[]")
	if p.allowedHost(host, port) || port == "" && p.allowedHost(host, "443") {
		return nil
	}
	return fmt.Errorf("registry %s is not in this server's --allow-remote list: %w", hostport, errdef.ErrDenied)
}

// checkAddr refuses an address host may not resolve to.
func (p Policy) checkAddr(host string, vouched bool, a netip.Addr) error {
	a = a.Unmap()
	switch {
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast(),
		a.IsMulticast(), a.IsUnspecified(), a == metadataV6:
		return fmt.Errorf("%s resolves to %s, a link-local, multicast or metadata address this server never connects to: %w", host, a, errdef.ErrDenied)
	case (a.IsLoopback() || a.IsPrivate()) && !vouched:
		return fmt.Errorf("%s resolves to %s, an address of the server's own network; name it in --allow-remote to reach it: %w", host, a, errdef.ErrDenied)
	}
	return nil
}

// Dialer returns a DialContext that connects only where p allows: the host
// name is checked against Allow, then resolved (with resolver; nil means
// net.DefaultResolver), and only permitted addresses are dialed, with d.
// Refusals match errdef.ErrDenied.
func (p Policy) Dialer(d *net.Dialer, resolver *net.Resolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if err := p.CheckHost(addr); err != nil {
			return nil, err
		}
		vouched := p.allowedHost(host, port)
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else {
			ips, err := resolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			addrs = ips
		}
		var lastErr error
		for _, a := range addrs {
			if err := p.checkAddr(host, vouched, a); err != nil {
				lastErr = err
				continue
			}
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			lastErr = err
		}
		if lastErr == nil {
			lastErr = fmt.Errorf("%s has no address: %w", host, errdef.ErrNotFound)
		}
		return nil, lastErr
	}
}
