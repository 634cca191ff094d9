package service

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine/sign/keyless/keylesstest"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// TestVerifyKeyless: Verify and VerifyAttestation take certificate
// identities and trust: the real keyless vectors verify for their signer
// (the legacy one against the built-in public-good root, the bundle one
// against the trusted root sent), fail for another one with the check
// named, and bad identities or trust are INVALID_ARGUMENT.
func TestVerifyKeyless(t *testing.T) {
	ctx := context.Background()
	v := keylesstest.Write(t, filepath.Join(t.TempDir(), "oci"), nil)
	c := newSignClient(t, filepath.Join(t.TempDir(), "keys"))
	pgi, err := os.ReadFile(keylesstest.TestData("cosign/trusted_root_pgi.json"))
	if err != nil {
		t.Fatal(err)
	}
	id := func(subject, issuer string) []*stevedorev1.CertificateIdentity {
		return []*stevedorev1.CertificateIdentity{{Subject: subject, Issuer: issuer}}
	}
	const gh = "https://github.com/login/oauth"

	rep, err := c.Verify(ctx, &stevedorev1.VerifyRequest{Ref: "oci:" + v.Dir + ":legacy", CertificateIdentities: id("mitr@redhat.com", gh)})
	if err != nil || !rep.GetVerified() || rep.GetFindings()[0].GetCertificate().GetSubject() != "mitr@redhat.com" {
		t.Fatalf("Verify legacy keyless: %v, %v", rep, err)
	}
	rep, err = c.Verify(ctx, &stevedorev1.VerifyRequest{Ref: "oci:" + v.Dir + ":legacy", CertificateIdentities: id("someone@example.com", gh)})
	if err != nil || rep.GetVerified() || rep.GetFindings()[0].GetCheck() != "identity" {
		t.Fatalf("Verify legacy keyless for another identity: %v, %v", rep, err)
	}
	att, err := c.VerifyAttestation(ctx, &stevedorev1.VerifyAttestationRequest{Ref: "oci:" + v.Dir + ":empty", PredicateType: keylesstest.BundlePredicateType,
		CertificateIdentities: id("cody@soyland.com", gh), CertificateTrust: &stevedorev1.CertificateTrust{TrustedRoot: string(pgi)}})
	if err != nil || !att.GetVerified() {
		t.Fatalf("VerifyAttestation keyless bundle: %v, %v", att, err)
	}
	att, err = c.VerifyAttestation(ctx, &stevedorev1.VerifyAttestationRequest{Ref: "oci:" + v.Dir + ":empty", PredicateType: keylesstest.BundlePredicateType,
		CertificateIdentities: id("cody@soyland.com", "https://accounts.google.com"), CertificateTrust: &stevedorev1.CertificateTrust{TrustedRoot: string(pgi)}})
	if err != nil || att.GetVerified() || att.GetFindings()[0].GetCheck() != "issuer" {
		t.Fatalf("VerifyAttestation keyless bundle, other issuer: %v, %v", att, err)
	}

	for _, tt := range []struct {
		name string
		req  *stevedorev1.VerifyRequest
	}{
		{"nothing trusted", &stevedorev1.VerifyRequest{Ref: "oci:" + v.Dir + ":legacy"}},
		{"identity without issuer", &stevedorev1.VerifyRequest{Ref: "oci:" + v.Dir + ":legacy", CertificateIdentities: id("mitr@redhat.com", "")}},
		{"bad regexp", &stevedorev1.VerifyRequest{Ref: "oci:" + v.Dir + ":legacy", CertificateIdentities: []*stevedorev1.CertificateIdentity{{SubjectRegexp: "(", Issuer: gh}}}},
		{"bad trusted root", &stevedorev1.VerifyRequest{Ref: "oci:" + v.Dir + ":legacy", CertificateIdentities: id("mitr@redhat.com", gh), CertificateTrust: &stevedorev1.CertificateTrust{TrustedRoot: "{"}}},
		{"trust without identity", &stevedorev1.VerifyRequest{Ref: "oci:" + v.Dir + ":legacy", PublicKeys: nil, CertificateTrust: &stevedorev1.CertificateTrust{InsecureIgnoreTlog: true}}},
	} {
		_, err := c.Verify(ctx, tt.req)
		wantCode(t, tt.name, err, codes.InvalidArgument)
	}
}
