package service

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine/sign/notation/notationtest"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// TestVerifyNotation: Verify takes notation trust inline (trust policy and
// named stores): the real notation vectors verify for their signer with
// the trust policy statement named, fail for another identity with the
// check named; bad trust is INVALID_ARGUMENT, and so is signing in the
// notation format.
func TestVerifyNotation(t *testing.T) {
	ctx := context.Background()
	v := notationtest.WriteVectors(t, filepath.Join(t.TempDir(), "oci"))
	c := newSignClient(t, filepath.Join(t.TempDir(), "keys"))
	policy, err := os.ReadFile(notationtest.TestData("trustpolicy.json"))
	if err != nil {
		t.Fatal(err)
	}
	alpine, err := os.ReadFile(notationtest.TestData("truststore/x509/ca/alpine/alpine.pem"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(notationtest.TestData("truststore/x509/ca/valid-trust-store/TestTimestamp.crt"))
	if err != nil {
		t.Fatal(err)
	}
	trust := func(scope string) *stevedorev1.NotationTrust {
		return &stevedorev1.NotationTrust{TrustPolicy: string(policy), Scope: scope,
			TrustStore: []*stevedorev1.NotationTrustStore{{Type: "ca", Name: "alpine", Certificates: string(alpine)}, {Type: "ca", Name: "valid-trust-store", Certificates: string(other)}}}
	}
	ref := "oci:" + v.Dir + ":" + notationtest.VectorTag
	rep, err := c.Verify(ctx, &stevedorev1.VerifyRequest{Ref: ref, NotationTrust: trust(notationtest.VectorScope)})
	if err != nil || !rep.GetVerified() || len(rep.GetFindings()) != 2 {
		t.Fatalf("Verify notation vectors: %v, %v", rep, err)
	}
	for _, f := range rep.GetFindings() {
		if f.GetFormat() != stevedorev1.SignatureFormat_SIGNATURE_FORMAT_NOTATION || f.GetTrustPolicy() != "alpine" || f.GetCertificate().GetSubject() != notationtest.VectorSigner {
			t.Errorf("finding %v", f)
		}
	}
	rep, err = c.Verify(ctx, &stevedorev1.VerifyRequest{Ref: ref, NotationTrust: trust("registry.example/other")})
	if err != nil || rep.GetVerified() || rep.GetFindings()[0].GetCheck() != "identity" {
		t.Fatalf("Verify notation vectors for another identity: %v, %v", rep, err)
	}
	missing := trust("registry.example/other")
	missing.TrustStore = missing.TrustStore[:1]
	rep, err = c.Verify(ctx, &stevedorev1.VerifyRequest{Ref: ref, NotationTrust: missing})
	if err != nil || rep.GetVerified() || rep.GetFindings()[0].GetCheck() != "policy" {
		t.Fatalf("Verify with a store the policy names missing: %v, %v", rep, err)
	}
	tree, err := c.Tree(ctx, &stevedorev1.TreeRequest{Ref: ref})
	if err != nil || len(tree.GetSignatures()) != 2 || tree.GetSignatures()[0].GetFormat() != stevedorev1.SignatureFormat_SIGNATURE_FORMAT_NOTATION {
		t.Errorf("Tree: %v, %v", tree, err)
	}

	bad := trust(notationtest.VectorScope)
	bad.TrustStore[0].Type = "root"
	for _, tt := range []struct {
		name string
		req  *stevedorev1.VerifyRequest
	}{
		{"no scope for a layout", &stevedorev1.VerifyRequest{Ref: ref, NotationTrust: trust("")}},
		{"bad trust policy", &stevedorev1.VerifyRequest{Ref: ref, NotationTrust: &stevedorev1.NotationTrust{TrustPolicy: "{", Scope: "a/b"}}},
		{"bad store type", &stevedorev1.VerifyRequest{Ref: ref, NotationTrust: bad}},
	} {
		_, err := c.Verify(ctx, tt.req)
		wantCode(t, tt.name, err, codes.InvalidArgument)
	}
	_, err = c.Sign(ctx, &stevedorev1.SignRequest{Ref: ref, KeyId: "k", Format: stevedorev1.SignatureFormat_SIGNATURE_FORMAT_NOTATION})
	wantCode(t, "sign in the notation format", err, codes.InvalidArgument)
}
