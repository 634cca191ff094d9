package service

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stevedore-dev/stevedore/engine"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// newSigningClients serves ImageService lent SignService's key directory,
// and SignService, on a bufconn.
func newSigningClients(t *testing.T) (stevedorev1.ImageServiceClient, stevedorev1.SignServiceClient) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	eng := engine.New(engine.Options{})
	sg := NewSignServer(eng, filepath.Join(t.TempDir(), "keys"))
	srv, _ := NewGRPCServerFor(NewImageServer(eng).WithSigning(sg), zap.NewNop())
	stevedorev1.RegisterSignServiceServer(srv, sg)
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
	return stevedorev1.NewImageServiceClient(conn), stevedorev1.NewSignServiceClient(conn)
}

// TestCopyVerifyPolicyAndSign: the Copy RPC enforces a trust policy given
// as text (keys inline or by server key id) before writing anything, and
// signs the copy with a server key when asked.
func TestCopyVerifyPolicyAndSign(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, sc := newSigningClients(t)
	const pw = "s3cret"
	gen, err := sc.GenerateKeyPair(ctx, &stevedorev1.GenerateKeyPairRequest{KeyId: "release", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.GenerateKeyPair(ctx, &stevedorev1.GenerateKeyPairRequest{KeyId: "other", Password: pw}); err != nil {
		t.Fatal(err)
	}
	// v1 is signed; multi is not.
	if _, err := sc.Sign(ctx, &stevedorev1.SignRequest{Ref: f.ref(":v1"), KeyId: "release", Password: pw}); err != nil {
		t.Fatal(err)
	}
	policyFor := func(key string) string {
		return fmt.Sprintf("repositories:\n- pattern: '**'\n  keys: [%s]\n", key)
	}
	for _, tc := range []struct {
		name, src, policy string
		keys              map[string]string
		code              codes.Code
	}{
		{"server key id", ":v1", policyFor("release"), nil, codes.OK},
		{"server key file name", ":v1", policyFor("release.pub"), nil, codes.OK},
		{"inline key", ":v1", policyFor("k.pub"), map[string]string{"k.pub": gen.GetPublicKeyPem()}, codes.OK},
		{"unsigned", ":multi", policyFor("release"), nil, codes.PermissionDenied},
		{"other key", ":v1", policyFor("other"), nil, codes.PermissionDenied},
		{"path as key", ":v1", policyFor("/etc/passwd"), nil, codes.InvalidArgument},
		{"unknown key", ":v1", policyFor("nope"), nil, codes.NotFound},
		{"bad inline key", ":v1", policyFor("k.pub"), map[string]string{"k.pub": "junk"}, codes.InvalidArgument},
		{"bad policy", ":v1", "repositories: [", nil, codes.InvalidArgument},
		{"keys without policy", ":v1", "", map[string]string{"k.pub": gen.GetPublicKeyPem()}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			events, err := runCopy(t, c, &stevedorev1.CopyRequest{Source: f.ref(tc.src), Destination: "oci:" + out + ":v1", VerifyPolicy: tc.policy, PolicyKeys: tc.keys})
			if status.Code(err) != tc.code {
				t.Fatalf("copy: %v, want %s", err, tc.code)
			}
			if tc.code != codes.OK {
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("a refused copy left %s behind (%v)", out, err)
				}
				return
			}
			res := events[len(events)-1].GetResult()
			if res.GetReferrers() == 0 {
				t.Errorf("result %+v: the signature did not come along", res)
			}
			v, err := sc.Verify(ctx, &stevedorev1.VerifyRequest{Ref: "oci:" + out + ":v1", KeyIds: []string{"release"}})
			if err != nil || !v.GetVerified() {
				t.Errorf("verify at the destination: %v %v", err, v)
			}
		})
	}

	t.Run("sign with a server key", func(t *testing.T) {
		out := "oci:" + filepath.Join(t.TempDir(), "out") + ":multi"
		events, err := runCopy(t, c, &stevedorev1.CopyRequest{Source: f.ref(":multi"), Destination: out, SignWithKeyId: "release", SignPassword: pw})
		if err != nil {
			t.Fatal(err)
		}
		if res := events[len(events)-1].GetResult(); len(res.GetSignatures()) != 1 {
			t.Errorf("signatures %v, want 1", res.GetSignatures())
		}
		v, err := sc.Verify(ctx, &stevedorev1.VerifyRequest{Ref: out, KeyIds: []string{"release"}})
		if err != nil || !v.GetVerified() {
			t.Errorf("verify the signed copy: %v %v", err, v)
		}
	})
	for _, tc := range []struct {
		name string
		req  *stevedorev1.CopyRequest
		code codes.Code
	}{
		{"wrong password", &stevedorev1.CopyRequest{SignWithKeyId: "release", SignPassword: "wrong"}, codes.InvalidArgument},
		{"unknown key", &stevedorev1.CopyRequest{SignWithKeyId: "nope", SignPassword: pw}, codes.NotFound},
		{"bad format", &stevedorev1.CopyRequest{SignWithKeyId: "release", SignPassword: pw, SignFormat: "pgp"}, codes.InvalidArgument},
		{"password alone", &stevedorev1.CopyRequest{SignPassword: pw}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			tc.req.Source, tc.req.Destination = f.ref(":v1"), "oci:"+out+":v1"
			_, err := runCopy(t, c, tc.req)
			if status.Code(err) != tc.code {
				t.Fatalf("copy: %v, want %s", err, tc.code)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a refused copy left %s behind (%v)", out, err)
			}
		})
	}
	// Without a key directory, signing is not available.
	_, err = runCopy(t, newClient(t), &stevedorev1.CopyRequest{Source: f.ref(":v1"), Destination: "oci:" + filepath.Join(t.TempDir(), "o"), SignWithKeyId: "release", SignPassword: pw})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("sign without a key directory: %v, want FailedPrecondition", err)
	}
}

// TestMirrorVerifyPolicyRPC: the Mirror RPC fails the images the policy
// refuses (DENIED) and mirrors the others with their signatures; a config
// naming a policy file is refused.
func TestMirrorVerifyPolicyRPC(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, sc := newSigningClients(t)
	const pw = "s3cret"
	gen, err := sc.GenerateKeyPair(ctx, &stevedorev1.GenerateKeyPairRequest{KeyId: "release", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	src, dst := startRegistry(t), startRegistry(t)
	for _, tag := range []string{"v1", "multi"} {
		if _, err := runCopy(t, c, &stevedorev1.CopyRequest{Source: f.ref(":" + tag), Destination: src + "/app:" + tag}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sc.Sign(ctx, &stevedorev1.SignRequest{Ref: src + "/app:v1", KeyId: "release", Password: pw}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("destination: {registry: %q}\nsources:\n  - images: [%s/app:v1, %s/app:multi]\n", dst, src, src)
	pol := "repositories:\n- pattern: '**'\n  keys: [k.pub]\n"
	images, sum, err := runMirror(t, c, &stevedorev1.MirrorRequest{Config: cfg, VerifyPolicy: pol, PolicyKeys: map[string]string{"k.pub": gen.GetPublicKeyPem()}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*stevedorev1.MirrorImage{}
	for _, im := range images {
		got[im.GetSource()] = im
	}
	if im := got["docker://"+src+"/app:v1"]; im.GetAction() != "copied" || im.GetReferrers() == 0 {
		t.Errorf("signed image: %v", im)
	}
	if im := got["docker://"+src+"/app:multi"]; im.GetAction() != "failed" || im.GetErrorCode() != "DENIED" {
		t.Errorf("unsigned image: %v", im)
	}
	if sum.GetFailed() != 1 || sum.GetCopied() != 1 {
		t.Errorf("summary %v", sum)
	}
	_, _, err = runMirror(t, c, &stevedorev1.MirrorRequest{Config: cfg + "verifyPolicy: /etc/policy.yaml\n"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("a config naming a policy file: %v, want InvalidArgument", err)
	}
}
