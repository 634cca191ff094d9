package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/netguard"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// startServerWith is startServer with extra server options.
func startServerWith(t *testing.T, opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	return startServerEngine(t, engine.New(engine.Options{}), opts...)
}

// startServerEngine serves eng with opts.
func startServerEngine(t *testing.T, eng *engine.Engine, opts ...grpc.ServerOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv, _ := NewGRPCServer(eng, zap.NewNop(), opts...)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	conn, err := grpc.NewClient(bufTarget, dialer, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return conn
}

func TestWithAuth(t *testing.T) {
	f := newFixture(t)
	authn := func(_ context.Context, h string) (Caller, error) {
		if h == "Bearer good" {
			return testCaller("alice"), nil
		}
		return nil, errors.New("bad credentials")
	}
	conn := startServerWith(t, WithAuth(authn)...)
	c := stevedorev1.NewImageServiceClient(conn)
	withAuth := func(h string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", h)
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want codes.Code
	}{
		{"none", t.Context(), codes.Unauthenticated},
		{"wrong", withAuth("Bearer bad"), codes.Unauthenticated},
		{"good", withAuth("Bearer good"), codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Inspect(tc.ctx, &stevedorev1.InspectRequest{Ref: f.ref(":v1")})
			if got := status.Code(err); got != tc.want {
				t.Errorf("Inspect: %v, want %v", err, tc.want)
			}
			s, err := c.GetBlob(tc.ctx, &stevedorev1.GetBlobRequest{Ref: f.ref("@sha256:" + zeros)})
			if err == nil {
				_, err = s.Recv()
			}
			if got := status.Code(err); (got == codes.Unauthenticated) != (tc.want == codes.Unauthenticated) {
				t.Errorf("GetBlob: %v", err)
			}
		})
	}
	t.Run("health stays open", func(t *testing.T) {
		if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Error(err)
		}
	})
}

// testCaller is a user who may do anything.
type testCaller string

func (c testCaller) User() string                        { return string(c) }
func (c testCaller) Allowed(string, engine.Action) error { return nil }

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// TestRemoteAllowlist: with --allow-remote, every field naming an image is
// held to the list, because the engine checks wherever it connects.
func TestRemoteAllowlist(t *testing.T) {
	f := newFixture(t)
	remote := &netguard.Policy{Allow: []string{"*.example.com", "127.0.0.1:1"}}
	c := stevedorev1.NewImageServiceClient(startServerEngine(t, engine.New(engine.Options{Remote: remote})))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		ref    string
		denied bool
	}{
		{"internal.corp:5000/app:v1", true},
		{"alpine", true}, // docker.io
		{"REG.Example.com/app:v1", false},
		{"127.0.0.1:1/app:v1", false},
		{f.ref(":v1"), false},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: tc.ref})
			if (status.Code(err) == codes.PermissionDenied) != tc.denied {
				t.Errorf("Inspect: %v", err)
			}
			s, err := c.Copy(ctx, &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: tc.ref})
			if err == nil {
				for err == nil {
					_, err = s.Recv()
				}
			}
			if (status.Code(err) == codes.PermissionDenied) != tc.denied {
				t.Errorf("Copy: %v", err)
			}
		})
	}
	// Every field that names an image is checked, not only ref/source/destination.
	if _, err := c.Diff(ctx, &stevedorev1.DiffRequest{Ref: f.ref(":v1"), OtherRef: "internal.corp:5000/app:v1"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Diff with a denied other_ref: %v", err)
	}
	if _, err := c.CreateIndex(ctx, &stevedorev1.CreateIndexRequest{Destination: f.ref(":idx"), Members: []string{f.ref(":v1"), "internal.corp:5000/app:v1"}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("CreateIndex with a denied member: %v", err)
	}
	ms, err := c.Mirror(ctx, &stevedorev1.MirrorRequest{Config: "destination: {registry: 127.0.0.1:1}\nsources:\n  - images: [internal.corp:5000/app:v1]\n", DryRun: true})
	if err == nil {
		for err == nil {
			_, err = ms.Recv()
		}
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("Mirror from a denied registry: %v", err)
	}
	if err := (netguard.Policy{Allow: []string{"[bad"}}).Check(); err == nil {
		t.Error("bad pattern accepted")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stevedore-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestLocalRoots: with --allow-local, oci: paths outside the roots (or
// leading out of them through a symlink) are refused; registries stay open.
func TestLocalRoots(t *testing.T) {
	f := newFixture(t)
	outside := newFixture(t)
	link := filepath.Join(f.dir, "escape")
	if err := os.Symlink(outside.dir, link); err != nil {
		t.Fatal(err)
	}
	local, err := engine.NewLocalPolicy([]string{f.dir}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := stevedorev1.NewImageServiceClient(startServerEngine(t, engine.New(engine.Options{Local: local})))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		ref    string
		denied bool
	}{
		{f.ref(":v1"), false},
		{outside.ref(":v1"), true},
		{"oci:" + link + ":v1", true}, // inside the root by name, but opened beneath it: the link is not followed out
		{"oci:" + f.dir + "/../" + filepath.Base(outside.dir) + ":v1", true},
		{"127.0.0.1:1/app:v1", false}, // registries are not restricted by --allow-local
	} {
		_, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: tc.ref})
		if (status.Code(err) == codes.PermissionDenied) != tc.denied {
			t.Errorf("Inspect %s: %v", tc.ref, err)
		}
	}
	s, err := c.Copy(ctx, &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: "oci:" + t.TempDir() + ":x"})
	for err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("Copy to a destination outside the roots: %v", err)
	}
}

// TestTLSGateway serves gRPC over TLS, with and without mTLS, and checks the
// gateway still reaches it while a client without a certificate cannot.

func TestTLSGateway(t *testing.T) {
	cert, key := writeCert(t)
	for _, mtls := range []bool{false, true} {
		t.Run(map[bool]string{false: "tls", true: "mtls"}[mtls], func(t *testing.T) {
			ca := ""
			if mtls {
				ca = cert // any CA: no outside client is expected to pass
			}
			cfg, err := NewTLS(cert, key, ca)
			if err != nil {
				t.Fatal(err)
			}
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv, _ := NewGRPCServer(engine.New(engine.Options{}), zap.NewNop(), grpc.Creds(credentials.NewTLS(cfg.GRPC)))
			done := make(chan struct{})
			go func() { defer close(done); _ = srv.Serve(lis) }()
			defer func() { srv.Stop(); <-done }()
			gw, err := NewGateway(t.Context(), lis.Addr().String(), cfg.GatewayDial)
			if err != nil {
				t.Fatal(err)
			}
			defer gw.Close()
			ts := httptest.NewUnstartedServer(gw)
			ts.TLS = cfg.HTTP
			ts.StartTLS()
			defer ts.Close()
			resp, err := ts.Client().Get(ts.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("/healthz over the TLS gateway: %s", resp.Status)
			}

			// An outside client trusting the certificate but holding none.
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if mtls != (err != nil) {
				t.Errorf("client without certificate, mtls=%v: %v", mtls, err)
			}
		})
	}
}
