package service

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/sign"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// newSignClient serves ImageService and SignService (keys in keyDir) on a
// bufconn.
func newSignClient(t *testing.T, keyDir string) stevedorev1.SignServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	eng := engine.New(engine.Options{})
	srv, _ := NewGRPCServer(eng, zap.NewNop())
	stevedorev1.RegisterSignServiceServer(srv, NewSignServer(eng, keyDir))
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
	return stevedorev1.NewSignServiceClient(conn)
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func TestSignService(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	keyDir := filepath.Join(t.TempDir(), "keys")
	c := newSignClient(t, keyDir)
	const pw = "s3cret"

	// Key pairs live in the directory; only the public half comes back.
	gen, err := c.GenerateKeyPair(ctx, &stevedorev1.GenerateKeyPairRequest{KeyId: "release", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if gen.GetKeyId() != "release" || !strings.Contains(gen.GetPublicKeyPem(), "PUBLIC KEY") || gen.GetKeyHint() == "" {
		t.Fatalf("GenerateKeyPair: %v", gen)
	}
	if st, err := os.Stat(filepath.Join(keyDir, "release.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("release.key: %v %v", st, err)
	}
	other, err := c.GenerateKeyPair(ctx, &stevedorev1.GenerateKeyPairRequest{Password: "other"})
	if err != nil || !keyIDRE.MatchString(other.GetKeyId()) || !strings.HasPrefix(other.GetKeyId(), "key-") {
		t.Fatalf("GenerateKeyPair with a generated id: %v, %v", other, err)
	}
	for _, tt := range []struct {
		name string
		req  *stevedorev1.GenerateKeyPairRequest
		code codes.Code
	}{
		{"existing id", &stevedorev1.GenerateKeyPairRequest{KeyId: "release", Password: pw}, codes.AlreadyExists},
		{"no password", &stevedorev1.GenerateKeyPairRequest{KeyId: "nopw"}, codes.InvalidArgument},
		{"path in id", &stevedorev1.GenerateKeyPairRequest{KeyId: "../evil", Password: pw}, codes.InvalidArgument},
		{"hidden id", &stevedorev1.GenerateKeyPairRequest{KeyId: ".hidden", Password: pw}, codes.InvalidArgument},
	} {
		t.Run("generate/"+tt.name, func(t *testing.T) {
			_, err := c.GenerateKeyPair(ctx, tt.req)
			wantCode(t, tt.name, err, tt.code)
		})
	}

	ref := f.ref(":v1")
	signed, err := c.Sign(ctx, &stevedorev1.SignRequest{Ref: ref, KeyId: "release", Password: pw, Annotations: map[string]string{"team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(signed.GetSignatures()) != 1 || signed.GetSignatures()[0].GetFormat() != stevedorev1.SignatureFormat_SIGNATURE_FORMAT_BUNDLE {
		t.Fatalf("Sign: %v", signed)
	}
	if _, err := c.Sign(ctx, &stevedorev1.SignRequest{Ref: ref, KeyId: "release", Password: pw, Format: stevedorev1.SignatureFormat_SIGNATURE_FORMAT_LEGACY}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		req  *stevedorev1.SignRequest
		code codes.Code
	}{
		{"wrong password", &stevedorev1.SignRequest{Ref: ref, KeyId: "release", Password: "nope"}, codes.InvalidArgument},
		{"unknown key", &stevedorev1.SignRequest{Ref: ref, KeyId: "missing", Password: pw}, codes.NotFound},
		{"bad key id", &stevedorev1.SignRequest{Ref: ref, KeyId: "a/b", Password: pw}, codes.InvalidArgument},
		{"no key id", &stevedorev1.SignRequest{Ref: ref, Password: pw}, codes.InvalidArgument},
		{"unknown image", &stevedorev1.SignRequest{Ref: f.ref(":nope"), KeyId: "release", Password: pw}, codes.NotFound},
		{"bad ref", &stevedorev1.SignRequest{Ref: "docker://", KeyId: "release", Password: pw}, codes.InvalidArgument},
	} {
		t.Run("sign/"+tt.name, func(t *testing.T) {
			_, err := c.Sign(ctx, tt.req)
			wantCode(t, tt.name, err, tt.code)
		})
	}

	// A failed verification is a verdict, not an error.
	for _, tt := range []struct {
		name     string
		req      *stevedorev1.VerifyRequest
		verified bool
		findings int
	}{
		{"key id", &stevedorev1.VerifyRequest{Ref: ref, KeyIds: []string{"release"}}, true, 2},
		{"public key PEM", &stevedorev1.VerifyRequest{Ref: ref, PublicKeys: []string{gen.GetPublicKeyPem()}, Format: stevedorev1.SignatureFormat_SIGNATURE_FORMAT_BUNDLE}, true, 1},
		{"annotation", &stevedorev1.VerifyRequest{Ref: ref, KeyIds: []string{"release"}, Format: stevedorev1.SignatureFormat_SIGNATURE_FORMAT_BUNDLE, Annotations: map[string]string{"team": "web"}}, true, 1},
		{"wrong annotation", &stevedorev1.VerifyRequest{Ref: ref, KeyIds: []string{"release"}, Annotations: map[string]string{"team": "db"}}, false, 2},
		{"wrong key", &stevedorev1.VerifyRequest{Ref: ref, PublicKeys: []string{other.GetPublicKeyPem()}}, false, 2},
		{"unsigned image", &stevedorev1.VerifyRequest{Ref: f.ref(":multi"), KeyIds: []string{"release"}}, false, 0},
	} {
		t.Run("verify/"+tt.name, func(t *testing.T) {
			rep, err := c.Verify(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if rep.GetVerified() != tt.verified || len(rep.GetFindings()) != tt.findings || rep.GetSubject().GetDigest() == "" {
				t.Fatalf("Verify: %v; want verified=%v with %d findings", rep, tt.verified, tt.findings)
			}
			for _, fd := range rep.GetFindings() {
				if fd.GetVerified() == (fd.GetReason() != "") {
					t.Errorf("finding %v: verified and reason disagree", fd)
				}
				if fd.GetVerified() && fd.GetKey() == "" {
					t.Errorf("finding %v names no key", fd)
				}
			}
		})
	}
	for _, tt := range []struct {
		name string
		req  *stevedorev1.VerifyRequest
		code codes.Code
	}{
		{"no key", &stevedorev1.VerifyRequest{Ref: ref}, codes.InvalidArgument},
		{"bad PEM", &stevedorev1.VerifyRequest{Ref: ref, PublicKeys: []string{"junk"}}, codes.InvalidArgument},
		{"unknown key id", &stevedorev1.VerifyRequest{Ref: ref, KeyIds: []string{"missing"}}, codes.NotFound},
		{"unknown image", &stevedorev1.VerifyRequest{Ref: f.ref(":nope"), KeyIds: []string{"release"}}, codes.NotFound},
	} {
		t.Run("verify-error/"+tt.name, func(t *testing.T) {
			_, err := c.Verify(ctx, tt.req)
			wantCode(t, tt.name, err, tt.code)
		})
	}

	const pt = "https://example.com/provenance/v1"
	att, err := c.Attest(ctx, &stevedorev1.AttestRequest{Ref: ref, KeyId: "release", Password: pw, PredicateType: pt, Predicate: `{"builder":{"id":"test"}}`})
	if err != nil || att.GetAttestation().GetManifest().GetDigest() == "" {
		t.Fatalf("Attest: %v, %v", att, err)
	}
	_, err = c.Attest(ctx, &stevedorev1.AttestRequest{Ref: ref, KeyId: "release", Password: pw, PredicateType: pt, Predicate: `not json`})
	wantCode(t, "attest invalid JSON", err, codes.InvalidArgument)
	_, err = c.Attest(ctx, &stevedorev1.AttestRequest{Ref: ref, KeyId: "release", Password: pw, PredicateType: sign.PredicateSign, Predicate: `{}`})
	wantCode(t, "attest with the sign predicate", err, codes.InvalidArgument)

	va, err := c.VerifyAttestation(ctx, &stevedorev1.VerifyAttestationRequest{Ref: ref, KeyIds: []string{"release"}, PredicateType: pt})
	if err != nil || !va.GetVerified() || len(va.GetFindings()) != 1 {
		t.Fatalf("VerifyAttestation: %v, %v", va, err)
	}
	va, err = c.VerifyAttestation(ctx, &stevedorev1.VerifyAttestationRequest{Ref: ref, PublicKeys: []string{other.GetPublicKeyPem()}, PredicateType: pt})
	if err != nil || va.GetVerified() || va.GetFindings()[0].GetReason() == "" {
		t.Fatalf("VerifyAttestation with the wrong key: %v, %v", va, err)
	}

	tree, err := c.Tree(ctx, &stevedorev1.TreeRequest{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.GetSignatures()) != 2 || len(tree.GetAttestations()) != 1 || tree.GetSubject().GetDigest() != signed.GetSignatures()[0].GetSubject().GetDigest() {
		t.Fatalf("Tree: %v", tree)
	}
	_, err = c.Tree(ctx, &stevedorev1.TreeRequest{Ref: f.ref(":nope")})
	wantCode(t, "tree of an unknown image", err, codes.NotFound)
}

func TestSignRecursive(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := newSignClient(t, t.TempDir())
	if _, err := c.GenerateKeyPair(ctx, &stevedorev1.GenerateKeyPairRequest{KeyId: "k", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Sign(ctx, &stevedorev1.SignRequest{Ref: f.ref(":multi"), KeyId: "k", Password: "pw", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	// The index, then each of its two entries (the same manifest twice).
	if len(res.GetSignatures()) != 3 {
		t.Fatalf("Sign --recursive: %v", res)
	}
}
