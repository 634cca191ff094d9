package keyless_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless/keylesstest"
)

// TestCertificateSigning: an image signed with a private CA's certificate
// (sign --certificate --certificate-chain), in both formats, as signature
// and attestation, verifies against that CA for the certified identity
// only, and not against another CA.
func TestCertificateSigning(t *testing.T) {
	ctx := context.Background()
	ca, other := keylesstest.NewCA(t, "test"), keylesstest.NewCA(t, "other")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const issuer = "https://issuer.example.com"
	cert, err := sign.ParseSigningCert(ca.Issue(t, &key.PublicKey, "alice@example.com", issuer), ca.ChainPEM(), key)
	if err != nil {
		t.Fatal(err)
	}
	mallory, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := sign.ParseSigningCert(ca.Issue(t, &mallory.PublicKey, "mallory@example.com", issuer), nil, key); err == nil {
		t.Fatal("a certificate for another key was accepted")
	}
	trust := func(ca *keylesstest.CA) sign.CertVerifier {
		v, err := keyless.New(sign.Trust{CertificateChain: ca.ChainPEM(), IgnoreTlog: true, IgnoreSCT: true})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	alice := sign.Identity{Subject: "alice@example.com", Issuer: issuer}
	for _, f := range []sign.Format{sign.FormatBundle, sign.FormatLegacy} {
		v := keylesstest.Write(t, filepath.Join(t.TempDir(), "oci"), nil)
		l := openLayout(t, v.Dir)
		if _, err := sign.Sign(ctx, l, "empty", key, sign.SignOptions{Format: f, Cert: cert}); err != nil {
			t.Fatal(err)
		}
		if _, err := sign.Attest(ctx, l, "empty", key, sign.AttestOptions{Format: f, Cert: cert, PredicateType: "https://example.com/p", Predicate: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			att   bool
			certs sign.CertVerifier
			id    sign.Identity
			check string
		}{
			{"signature", false, trust(ca), alice, ""},
			{"attestation", true, trust(ca), alice, ""},
			{"other identity", false, trust(ca), sign.Identity{Subject: "mallory@example.com", Issuer: issuer}, sign.CheckIdentity},
			{"other issuer", false, trust(ca), sign.Identity{Subject: "alice@example.com", Issuer: "https://accounts.google.com"}, sign.CheckIssuer},
			{"other CA", false, trust(other), alice, sign.CheckChain},
			{"log required", false, keylessWith(t, sign.Trust{CertificateChain: ca.ChainPEM(), IgnoreSCT: true}), alice, sign.CheckTlog},
		}
		for _, tc := range tests {
			t.Run(string(f)+"/"+tc.name, func(t *testing.T) {
				fn := sign.Verify
				if tc.att {
					fn = sign.VerifyAttestation
				}
				rep, err := fn(ctx, l, "empty", sign.VerifyOptions{Format: f, Certs: tc.certs, Identities: []sign.Identity{tc.id}, PredicateType: "https://example.com/p"})
				if err != nil {
					t.Fatal(err)
				}
				var mine *sign.Finding
				for i := range rep.Findings {
					if rep.Findings[i].Manifest != v.Referrer.Digest { // not the real cosign attestation
						mine = &rep.Findings[i]
					}
				}
				if mine == nil {
					t.Fatalf("no finding for our signature in %+v", rep.Findings)
				}
				if tc.check == "" && !mine.Verified || tc.check != "" && (mine.Verified || mine.Check != tc.check) {
					t.Fatalf("finding %+v, want check %q", mine, tc.check)
				}
			})
		}
	}
}

func keylessWith(t *testing.T, tr sign.Trust) sign.CertVerifier {
	t.Helper()
	v, err := keyless.New(tr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
