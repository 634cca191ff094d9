package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestCheckHost(t *testing.T) {
	p := Policy{Allow: []string{"*.example.com", "127.0.0.1:5001", "Reg.Internal"}}
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"registry.example.com", true},
		{"registry.example.com:443", true},
		{"127.0.0.1:5001", true},
		{"127.0.0.1:5002", false},
		{"reg.internal", true},
		{"docker.io", false},
		{"example.com", false},
	} {
		if err := p.CheckHost(c.host); (err == nil) != c.ok || (err != nil && !errors.Is(err, errdef.ErrDenied)) {
			t.Errorf("CheckHost(%q) = %v, want allowed=%v", c.host, err, c.ok)
		}
	}
	if err := (Policy{}).CheckHost("anything.example:1"); err != nil {
		t.Errorf("no list: %v", err)
	}
	if err := (Policy{Allow: []string{"[bad"}}).Check(); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("bad pattern: %v", err)
	}
	if err := (Policy{Vouched: []string{"[bad"}}).Check(); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("bad vouched pattern: %v", err)
	}
	// Vouched hosts pass an Allow list without being on it, and do not
	// make one: with none, any public host still passes.
	v := Policy{Allow: []string{"*.example.com"}, Vouched: []string{"127.0.0.1:5001"}}
	if err := v.CheckHost("127.0.0.1:5001"); err != nil {
		t.Errorf("vouched host: %v", err)
	}
	if err := v.CheckHost("127.0.0.1:5002"); !errors.Is(err, errdef.ErrDenied) {
		t.Errorf("host neither allowed nor vouched: %v", err)
	}
	if err := (Policy{Vouched: []string{"127.0.0.1:5001"}}).CheckHost("cdn.example:443"); err != nil {
		t.Errorf("vouched list restricted other hosts: %v", err)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr    string
		vouched bool
		ok      bool
	}{
		{"93.184.216.34", false, true},
		{"2606:2800:220:1:248:1893:25c8:1946", false, true},
		{"127.0.0.1", false, false},
		{"127.0.0.2", false, false},
		{"127.0.0.1", true, true},
		{"::1", false, false},
		{"10.1.2.3", false, false},
		{"172.16.0.1", false, false},
		{"192.168.1.1", true, true},
		{"169.254.169.254", false, false},
		{"169.254.169.254", true, false}, // metadata: never, whatever the list says
		{"fe80::1", true, false},
		{"fd00:ec2::254", true, false},
		{"224.0.0.1", true, false},
		{"0.0.0.0", true, false},
		{"::ffff:127.0.0.1", false, false},
		{"::ffff:169.254.169.254", true, false},
	} {
		err := Policy{}.checkAddr("h", c.vouched, netip.MustParseAddr(c.addr))
		if (err == nil) != c.ok {
			t.Errorf("checkAddr(%s, vouched=%v) = %v, want allowed=%v", c.addr, c.vouched, err, c.ok)
		}
	}
}

// TestDialerRefusesRebinding: a name that resolves to a refused address is
// refused at dial time, whatever the name looked like.
func TestDialerRefusesRebinding(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	// A resolver that answers every name with 127.0.0.1, as a rebinding
	// DNS server would.
	rebind := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, errors.New("no DNS here")
	}}
	dial := Policy{}.Dialer(&net.Dialer{}, rebind)
	if _, err := dial(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", port)); !errors.Is(err, errdef.ErrDenied) {
		t.Errorf("dial to loopback: %v, want denied", err)
	}
	allowed := Policy{Allow: []string{"127.0.0.1:*"}}.Dialer(&net.Dialer{}, rebind)
	c, err := allowed(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatalf("dial to a vouched loopback registry: %v", err)
	}
	c.Close()
	vouched := Policy{Vouched: []string{"127.0.0.1:" + port}}.Dialer(&net.Dialer{}, rebind)
	c, err = vouched(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatalf("dial to a configured (vouched) loopback upstream: %v", err)
	}
	c.Close()
}
