package notation_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-go/signer"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/notation"
	"github.com/stevedore-dev/stevedore/engine/sign/notation/notationtest"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

func openLayout(t *testing.T, dir string) *layout.Layout {
	t.Helper()
	fs, err := store.OpenFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return layout.New(fs)
}

func verifierFor(t *testing.T, f notationtest.Files) *notation.Verifier {
	t.Helper()
	policy, err := os.ReadFile(f.TrustPolicy)
	if err != nil {
		t.Fatal(err)
	}
	store, err := notation.LoadTrustStore(f.TrustStore)
	if err != nil {
		t.Fatal(err)
	}
	v, err := notation.New(notation.Options{TrustPolicy: policy, TrustStore: store})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestImageVectors: the real JWS and COSE signatures, stored as notation
// stores them, verify through sign.Verify and show in the tree.
func TestImageVectors(t *testing.T) {
	ctx := context.Background()
	v := notationtest.WriteVectors(t, filepath.Join(t.TempDir(), "oci"))
	l := openLayout(t, v.Dir)
	nv := verifierFor(t, notationtest.Files{TrustPolicy: notationtest.TestData("trustpolicy.json"), TrustStore: notationtest.TestData("truststore")})
	rep, err := sign.Verify(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Notation: nv, Scope: notationtest.VectorScope})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified || len(rep.Findings) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for _, f := range rep.Findings {
		if !f.Verified || f.Format != sign.FormatNotation || f.TrustPolicy != "alpine" || f.Certificate.Subject != notationtest.VectorSigner {
			t.Errorf("finding %+v", f)
		}
	}
	// Not asked for: cosign keys alone do not look at notation signatures.
	rep, err = sign.Verify(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Keys: []crypto.PublicKey{otherKey(t)}})
	if err != nil || rep.Verified || len(rep.Findings) != 0 {
		t.Errorf("keys only: %+v, %v", rep, err)
	}
	rep, err = sign.Verify(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Notation: nv, Scope: "registry.example/other"})
	if err != nil || rep.Verified || rep.Findings[0].Check != sign.CheckIdentity {
		t.Errorf("another identity: %+v, %v", rep, err)
	}
	tree, err := sign.ListTree(ctx, l, notationtest.VectorTag)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Signatures) != 2 || tree.Signatures[0].Format != sign.FormatNotation || tree.Signatures[0].ArtifactType != sign.ArtifactTypeNotation {
		t.Errorf("tree %+v", tree)
	}
	if _, err := sign.VerifyAttestation(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Notation: nv, Scope: notationtest.VectorScope}); err == nil {
		t.Error("notation trust accepted for attestations")
	}
}

// TestSignVerify: stevedore's notation signatures, JWS and COSE, verify for
// their signer with their signed annotations, and not against another
// signer's trust store.
func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	alice, mallory := notationtest.NewSigner(t, "alice"), notationtest.NewSigner(t, "mallory")
	const scope = "registry.example/alpine"
	trustAlice := verifierFor(t, alice.Write(t, t.TempDir(), scope))
	trustMallory := verifierFor(t, mallory.Write(t, t.TempDir(), scope))
	for _, mt := range []string{sign.MediaTypeJWS, sign.MediaTypeCOSE} {
		t.Run(mt, func(t *testing.T) {
			v := notationtest.WriteVectors(t, filepath.Join(t.TempDir(), "oci"))
			l := openLayout(t, v.Dir)
			s, err := notation.NewSigner(alice.Key, alice.Chain, notation.SignerOptions{MediaType: mt, Expiry: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			res, err := sign.Sign(ctx, l, notationtest.VectorTag, nil, sign.SignOptions{Format: sign.FormatNotation, Notation: s, Annotations: map[string]string{"team": "web"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Format != sign.FormatNotation || res[0].Signature.ArtifactType != sign.ArtifactTypeNotation {
				t.Fatalf("signed %+v", res)
			}
			rep, err := sign.Verify(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Notation: trustAlice, Scope: scope, Format: sign.FormatNotation, Annotations: map[string]string{"team": "web"}})
			if err != nil {
				t.Fatal(err)
			}
			// The two real vectors fail (their signer is not trusted), ours passes.
			var ok int
			for _, f := range rep.Findings {
				if f.Verified {
					ok++
					if f.Manifest != res[0].Signature.Digest || f.Certificate.Subject != alice.Subject() || f.Annotations["team"] != "web" {
						t.Errorf("finding %+v", f)
					}
				} else if f.Check != sign.CheckChain {
					t.Errorf("real vector under alice's trust: %+v", f)
				}
			}
			if ok != 1 || len(rep.Findings) != 3 {
				t.Errorf("report %+v", rep)
			}
			rep, _ = sign.Verify(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Notation: trustAlice, Scope: scope, Annotations: map[string]string{"team": "db"}})
			if rep.Verified {
				t.Error("verified with another annotation value")
			}
			rep, _ = sign.Verify(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Notation: trustMallory, Scope: scope})
			if rep.Verified {
				t.Error("verified against another signer's trust store")
			}
		})
	}
}

// pastSigner signs with a signing time and expiry in the past.
type pastSigner struct{ s *notationtest.Signer }

func (p pastSigner) SignNotation(_ context.Context, subj oci.Descriptor, _ map[string]string) (*sign.NotationEnvelope, error) {
	ls, err := signature.NewLocalSigner(p.s.Chain, p.s.Key)
	if err != nil {
		return nil, err
	}
	payload := []byte(`{"targetArtifact":{"mediaType":"` + subj.MediaType + `","digest":"` + subj.Digest.String() + `","size":` + itoa(subj.Size) + `}}`)
	env, err := signature.NewEnvelope(sign.MediaTypeJWS)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	raw, err := env.Sign(&signature.SignRequest{
		Payload: signature.Payload{ContentType: "application/vnd.cncf.notary.payload.v1+json", Content: payload},
		Signer:  ls, SigningTime: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour), SigningScheme: signature.SigningSchemeX509,
	})
	return &sign.NotationEnvelope{Envelope: raw, MediaType: sign.MediaTypeJWS, Chain: p.s.Chain, SigningTime: now}, err
}

// TestExpired: a signature past its expiry fails the expiry check.
func TestExpired(t *testing.T) {
	ctx := context.Background()
	alice := notationtest.NewSigner(t, "alice")
	trust := verifierFor(t, alice.Write(t, t.TempDir(), "*"))
	v := notationtest.WriteVectors(t, filepath.Join(t.TempDir(), "oci"))
	l := openLayout(t, v.Dir)
	if _, err := sign.Sign(ctx, l, notationtest.VectorTag, nil, sign.SignOptions{Format: sign.FormatNotation, Notation: pastSigner{alice}}); err != nil {
		t.Fatal(err)
	}
	rep, err := sign.Verify(ctx, l, notationtest.VectorTag, sign.VerifyOptions{Notation: trust, Scope: "registry.example/app"})
	if err != nil {
		t.Fatal(err)
	}
	var checks []string
	for _, f := range rep.Findings {
		checks = append(checks, f.Check)
	}
	if rep.Verified || !contains(checks, sign.CheckExpiry) {
		t.Errorf("checks %v: %+v", checks, rep)
	}
}

// TestSignerChecks: the signer refuses a chain not for its key, a non-code-signing chain and an unknown envelope.
func TestSignerChecks(t *testing.T) {
	alice, mallory := notationtest.NewSigner(t, "alice"), notationtest.NewSigner(t, "mallory")
	for name, c := range map[string]struct {
		chain []*x509.Certificate
		mt    string
	}{
		"chain of another key": {mallory.Chain, ""},
		"no chain":             {nil, ""},
		"root as leaf":         {alice.Chain[1:], ""},
		"unknown envelope":     {alice.Chain, "application/pgp-signature"},
	} {
		if _, err := notation.NewSigner(alice.Key, c.chain, notation.SignerOptions{MediaType: c.mt}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := signer.NewGenericSigner(alice.Key, alice.Chain); err != nil {
		t.Fatal(err)
	}
}

func otherKey(t *testing.T) crypto.PublicKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func contains(s []string, v string) bool { return slices.Contains(s, v) }
